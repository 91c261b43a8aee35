package tlsrpt

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sluicemail/sluice/stages/resolver"
)

// Options configure a Reporter.
type Options struct {
	Resolver  resolver.Resolver // for _smtp._tls records; required
	Submitter string            // our domain: organization-name and TLS-Report-Submitter
	Contact   string            // contact-info, e.g. postmaster@<our domain>
	From      string            // sender of report mail; default tls-reports@Submitter
	// Mail queues a report message (DKIM-signed by the caller, section
	// 5.3 requires it). Without it mailto: addresses are skipped.
	Mail func(ctx context.Context, from string, to []string, raw []byte) error
	HTTP *http.Client // for https: addresses; default a client with a 30 s timeout
	// Dir keeps the counts across restarts (state.json); "" keeps them
	// in memory only.
	Dir    string
	Now    func() time.Time
	Logger *slog.Logger
}

// Reporter aggregates TLS results per day and policy domain and sends
// the reports. It is safe for concurrent use.
type Reporter struct {
	opts Options
	log  *slog.Logger

	mu   sync.Mutex
	days map[string]map[policyKey]*dayStats // by UTC day, "2006-01-02"
}

// New returns a Reporter, with the counts saved by a previous run.
func New(opts Options) (*Reporter, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HTTP == nil {
		opts.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	if opts.From == "" {
		opts.From = "tls-reports@" + opts.Submitter
	}
	r := &Reporter{opts: opts, log: opts.Logger, days: map[string]map[policyKey]*dayStats{}}
	if err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

// Record counts one result in today's (UTC) report.
func (r *Reporter) Record(res Result) {
	if res.PolicyDomain == "" {
		return
	}
	day := r.opts.Now().UTC().Format(time.DateOnly)
	k := keyOf(res)
	r.mu.Lock()
	defer r.mu.Unlock()
	d := r.days[day]
	if d == nil {
		d = map[policyKey]*dayStats{}
		r.days[day] = d
	}
	s := d[k]
	if s == nil {
		s = &dayStats{Policy: PolicyDesc{PolicyType: res.PolicyType, PolicyString: res.PolicyString,
			PolicyDomain: k.Domain, MXHost: res.MXHosts}, Failures: map[failureKey]int64{}}
		d[k] = s
	}
	if res.Failure == "" {
		s.OK++
		return
	}
	s.Failures[failureKey{res.Failure, res.SendingIP, res.ReceivingMX, res.ReceivingIP, res.Reason}]++
}

// Build returns the reports of day for each policy domain, without
// sending or forgetting anything.
func (r *Reporter) Build(day string) map[string]*Report {
	start, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]*Report{}
	for k, s := range r.days[day] {
		rep := out[k.Domain]
		if rep == nil {
			rep = &Report{OrganizationName: r.opts.Submitter, ContactInfo: r.opts.Contact, ReportID: reportID(day, r.opts.Submitter),
				DateRange: DateRange{Start: start.UTC(), End: start.Add(24*time.Hour - time.Second).UTC()}}
			out[k.Domain] = rep
		}
		rep.Policies = append(rep.Policies, s.part())
	}
	for _, rep := range out {
		sort.Slice(rep.Policies, func(i, j int) bool { return rep.Policies[i].Policy.PolicyType < rep.Policies[j].Policy.PolicyType })
	}
	return out
}

func reportID(day, submitter string) string {
	b := make([]byte, 8)
	rand.Read(b)
	return day + "." + hex.EncodeToString(b) + "@" + submitter
}

// SendDue sends the reports of every finished day to the domains that
// ask for them and forgets those days. A domain without a record gets
// none; a failed delivery is logged (a report is worth one try: the next
// day brings a new one).
func (r *Reporter) SendDue(ctx context.Context) {
	today := r.opts.Now().UTC().Format(time.DateOnly)
	r.mu.Lock()
	var due []string
	for d := range r.days {
		if d < today {
			due = append(due, d)
		}
	}
	r.mu.Unlock()
	sort.Strings(due)
	for _, day := range due {
		for domain, rep := range r.Build(day) {
			r.sendDomain(ctx, domain, rep)
		}
		r.mu.Lock()
		delete(r.days, day)
		r.mu.Unlock()
	}
	if len(due) > 0 {
		if err := r.Save(); err != nil {
			r.log.Warn("saving the TLS report counts", "err", err)
		}
	}
}

func (r *Reporter) sendDomain(ctx context.Context, domain string, rep *Report) {
	txts, _, err := resolver.LookupTXT(ctx, r.opts.Resolver, "_smtp._tls."+domain)
	if err != nil {
		r.log.Info("TLS report not sent: no answer for _smtp._tls", "domain", domain, "err", err)
		return
	}
	rec, err := PickRecord(txts)
	if err != nil {
		return // the domain asks for no reports
	}
	body, err := Gzip(rep)
	if err != nil {
		r.log.Error("building a TLS report", "domain", domain, "err", err)
		return
	}
	for _, u := range rec.RUA {
		var err error
		if u.Scheme == "mailto" {
			err = r.mail(ctx, domain, strings.SplitN(u.Opaque, "?", 2)[0], rep, body)
		} else {
			err = r.post(ctx, u.String(), body)
		}
		if err != nil {
			r.log.Warn("TLS report not delivered", "domain", domain, "rua", u.String(), "err", err)
			continue
		}
		r.log.Info("TLS report sent", "domain", domain, "rua", u.String(), "report_id", rep.ReportID)
	}
}

func (r *Reporter) mail(ctx context.Context, domain, to string, rep *Report, body []byte) error {
	if r.opts.Mail == nil {
		return errors.New("no mail queue to send through")
	}
	raw := Message(r.opts.From, to, r.opts.Submitter, domain, rep, body, r.opts.Now())
	return r.opts.Mail(ctx, r.opts.From, []string{to}, raw)
}

// Run sends the due reports now and every interval, saving the counts,
// until ctx ends; then it saves them once more.
func (r *Reporter) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		r.SendDue(ctx)
		if err := r.Save(); err != nil {
			r.log.Warn("saving the TLS report counts", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// savedPolicy is one dayStats in the state file.
type savedPolicy struct {
	Day      string
	Policy   PolicyDesc
	OK       int64
	Failures []FailureDetail
}

// Save writes the counts to Dir/state.json (atomically: temp file and
// rename).
func (r *Reporter) Save() error {
	if r.opts.Dir == "" {
		return nil
	}
	r.mu.Lock()
	var all []savedPolicy
	for day, d := range r.days {
		for _, s := range d {
			all = append(all, savedPolicy{Day: day, Policy: s.Policy, OK: s.OK, Failures: s.part().FailureDetails})
		}
	}
	r.mu.Unlock()
	b, err := json.Marshal(all)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(r.opts.Dir, 0o700); err != nil {
		return err
	}
	p := filepath.Join(r.opts.Dir, "state.json")
	if err := os.WriteFile(p+".tmp", b, 0o600); err != nil {
		return err
	}
	return os.Rename(p+".tmp", p)
}

func (r *Reporter) load() error {
	if r.opts.Dir == "" {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(r.opts.Dir, "state.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("tlsrpt: %w", err)
	}
	var all []savedPolicy
	if err := json.Unmarshal(b, &all); err != nil {
		// Counts are worth less than starting: keep going without them.
		r.log.Warn("TLS report counts unreadable; starting afresh", "err", err)
		return nil
	}
	for _, sp := range all {
		d := r.days[sp.Day]
		if d == nil {
			d = map[policyKey]*dayStats{}
			r.days[sp.Day] = d
		}
		s := &dayStats{Policy: sp.Policy, OK: sp.OK, Failures: map[failureKey]int64{}}
		for _, f := range sp.Failures {
			s.Failures[failureKey{f.ResultType, f.SendingMTAIP, f.ReceivingMXHost, f.ReceivingIP, f.FailureReasonCode}] = f.FailedSessions
		}
		d[policyKey{sp.Policy.PolicyDomain, sp.Policy.PolicyType, strings.Join(sp.Policy.PolicyString, "\n")}] = s
	}
	return nil
}
