package reports

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluicemail/sluice/server/queue"
	"github.com/sluicemail/sluice/stages/dmarc"
	"github.com/sluicemail/sluice/stages/resolver"
	"golang.org/x/net/idna"
)

// Queue is what the Sender needs of the spool (*queue.Queue).
type Queue interface {
	Put(ctx context.Context, env queue.Envelope, raw []byte) (string, error)
}

// Signer DKIM-signs the report mails (stages/dkim), so that they pass
// DMARC at the receiver: many report addresses take only mail that does.
type Signer interface {
	Sign(raw []byte) ([]byte, error)
}

// Sender builds and sends the aggregate reports of the evaluations in a
// Store.
type Sender struct {
	Store    *Store
	DNS      resolver.Resolver // DMARC records and the external destination check
	Queue    Queue             // nil: build only (dry run)
	Signer   Signer            // nil: unsigned
	OrgName  string            // report_metadata org_name and the receiver in file names: our host name
	From     string            // the report mails' sender, and report_metadata email
	Hostname string            // for Message-IDs
	Logger   *slog.Logger
	Now      func() time.Time // default time.Now

	mu sync.Mutex // one Send at a time: the daily run and the admin's
}

// Outgoing is one report, sent or, in a dry run, only built.
type Outgoing struct {
	Domain   string    `json:"domain"` // the policy domain
	Begin    time.Time `json:"begin"`  // period covered
	End      time.Time `json:"end"`
	Messages int64     `json:"messages"`          // evaluations in it
	To       []string  `json:"to"`                // rua addresses that take it
	Refused  []string  `json:"refused,omitempty"` // rua addresses that do not, with the reason
	Report   *Feedback `json:"report"`
	ID       string    `json:"queue_id,omitempty"` // once queued
}

// Send builds a report per policy domain and UTC day from every
// evaluation recorded before until, and queues each to the rua addresses
// of the domain's DMARC record that pass the external destination check
// (RFC 7489 section 7.1). Evaluations from until on stay for the next
// run, as do those whose record could not be looked up now (temporary DNS
// failure); the others are done with, reported or not (a domain with no
// rua asked for no report). dryRun builds the same reports and changes
// nothing.
func (s *Sender) Send(ctx context.Context, until time.Time, dryRun bool) ([]Outgoing, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !dryRun {
		if err := s.Store.rotate(); err != nil {
			return nil, err
		}
	}
	evs, files, err := s.Store.pending(dryRun)
	if err != nil {
		return nil, err
	}
	var keep []Evaluation
	groups := map[groupKey][]Evaluation{}
	for _, ev := range evs {
		if !ev.Time.Before(until) {
			keep = append(keep, ev)
			continue
		}
		k := groupKey{day: ev.Time.UTC().Truncate(24 * time.Hour), from: strings.ToLower(ev.HeaderFrom)}
		groups[k] = append(groups[k], ev)
	}
	out, retry, err := s.build(ctx, groups, until)
	if err != nil {
		return nil, err
	}
	keep = append(keep, retry...)
	if dryRun {
		return out, nil
	}
	for i := range out {
		if err := s.queue(ctx, &out[i]); err != nil {
			return out[:i], err // nothing settled: the next run sends again
		}
	}
	return out, s.Store.settle(files, keep)
}

type groupKey struct {
	day  time.Time
	from string
}

// policy is the DMARC record that applies to a From domain.
type policy struct {
	domain string        // where the record was found
	rec    *dmarc.Record // nil: none applies
}

// build discovers each From domain's DMARC record (once), groups the
// evaluations by policy domain and day, and builds the reports. Groups
// whose lookups failed temporarily come back in retry.
func (s *Sender) build(ctx context.Context, groups map[groupKey][]Evaluation, until time.Time) ([]Outgoing, []Evaluation, error) {
	found := map[string]*policy{} // by From domain; nil: temporary failure
	recs := map[string]*dmarc.Record{}
	byPolicy := map[groupKey][]Evaluation{}
	var retry []Evaluation
	for k, evs := range groups {
		p, ok := found[k.from]
		if !ok {
			p = s.discover(ctx, k.from)
			found[k.from] = p
		}
		switch {
		case p == nil:
			retry = append(retry, evs...)
		case p.rec != nil && len(p.rec.ReportURIAggregate) > 0:
			pk := groupKey{day: k.day, from: p.domain}
			byPolicy[pk] = append(byPolicy[pk], evs...)
			recs[p.domain] = p.rec
		}
	}
	keys := make([]groupKey, 0, len(byPolicy))
	for k := range byPolicy {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].day.Before(keys[j].day) || keys[i].day.Equal(keys[j].day) && keys[i].from < keys[j].from
	})
	var out []Outgoing
	for _, k := range keys {
		o, temp := s.outgoing(ctx, k, recs[k.from], byPolicy[k], until)
		if temp {
			retry = append(retry, byPolicy[k]...)
			continue
		}
		out = append(out, o)
	}
	return out, retry, nil
}

// discover looks up the DMARC record that applies to a From domain now:
// nil on a temporary failure.
func (s *Sender) discover(ctx context.Context, from string) *policy {
	ev := dmarc.Evaluate(ctx, s.DNS, dmarc.Input{From: from})
	switch {
	case ev.Result == dmarc.ResultTempError:
		return nil
	case ev.Record == nil:
		return &policy{}
	}
	return &policy{domain: ev.PolicyDomain, rec: ev.Record}
}

// outgoing builds the report of one policy domain and day and finds which
// rua addresses take it. temp is true when a destination check failed
// temporarily: the evaluations wait for the next run.
func (s *Sender) outgoing(ctx context.Context, k groupKey, rec *dmarc.Record, evs []Evaluation, until time.Time) (Outgoing, bool) {
	end := k.day.Add(24*time.Hour - time.Second)
	if until.Before(end) {
		end = until.Add(-time.Second).UTC()
	}
	o := Outgoing{Domain: k.from, Begin: k.day, End: end, Messages: int64(len(evs)),
		Report: feedback(s.OrgName, s.From, k.from, rec, k.day, end, evs)}
	for _, uri := range rec.ReportURIAggregate {
		addr, limit, err := mailtoAddress(uri)
		if err != nil {
			o.Refused = append(o.Refused, uri+": "+err.Error())
			continue
		}
		ok, err := s.authorized(ctx, k.from, addr)
		switch {
		case err != nil:
			s.log().Info("dmarc report: destination check failed, trying again later", "domain", k.from, "rua", addr, "err", err)
			return o, true
		case !ok:
			o.Refused = append(o.Refused, addr+": not authorized by "+k.from+"._report._dmarc."+domainOf(addr))
		case limit > 0 && s.size(o, addr) > limit:
			o.Refused = append(o.Refused, addr+": report larger than its size limit")
		default:
			o.To = append(o.To, addr)
		}
	}
	return o, false
}

// mailtoAddress reads a rua URI (RFC 7489 section 6.2): mailto: only,
// with an optional "!size" limit (k, m, g, t units).
func mailtoAddress(uri string) (string, int64, error) {
	uri = strings.TrimSpace(uri)
	var limit int64
	if i := strings.LastIndexByte(uri, '!'); i > 0 {
		n, err := parseSize(uri[i+1:])
		if err != nil {
			return "", 0, err
		}
		uri, limit = uri[:i], n
	}
	u, err := url.Parse(uri)
	if err != nil || !strings.EqualFold(u.Scheme, "mailto") {
		return "", 0, fmt.Errorf("not a mailto: URI")
	}
	addr, err := url.PathUnescape(u.Opaque)
	if err != nil || strings.Count(addr, "@") != 1 || strings.HasPrefix(addr, "@") || strings.HasSuffix(addr, "@") {
		return "", 0, fmt.Errorf("no address in the URI")
	}
	return addr, limit, nil
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	if n := len(s); n > 0 {
		switch strings.ToLower(s[n-1:]) {
		case "k":
			mult = 1 << 10
		case "m":
			mult = 1 << 20
		case "g":
			mult = 1 << 30
		case "t":
			mult = 1 << 40
		}
		if mult > 1 {
			s = s[:n-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("invalid size limit %q", s)
	}
	return n * mult, nil
}

// authorized is the external destination check of RFC 7489 section 7.1:
// a rua at another organisational domain must be confirmed by a DMARC1
// record at <policy-domain>._report._dmarc.<rua-host>.
func (s *Sender) authorized(ctx context.Context, policyDomain, addr string) (bool, error) {
	host := domainOf(addr)
	if strings.EqualFold(dmarc.OrgDomain(host), dmarc.OrgDomain(policyDomain)) {
		return true, nil
	}
	pd, err1 := idna.Lookup.ToASCII(policyDomain)
	h, err2 := idna.Lookup.ToASCII(host)
	if err1 != nil || err2 != nil {
		return false, nil
	}
	txts, _, err := resolver.LookupTXT(ctx, s.DNS, pd+"._report._dmarc."+h)
	if err != nil {
		return false, err
	}
	for _, t := range txts {
		if strings.HasPrefix(strings.TrimSpace(t), "v=DMARC1") {
			return true, nil
		}
	}
	return false, nil
}

// size is the size of the report mail to addr.
func (s *Sender) size(o Outgoing, addr string) int64 {
	m, err := o.Report.message(s.From, addr, s.Hostname, s.now())
	if err != nil {
		return 0
	}
	return int64(len(m))
}

// queue sends o to its addresses, one mail for all of them.
func (s *Sender) queue(ctx context.Context, o *Outgoing) error {
	if len(o.To) == 0 || s.Queue == nil {
		return nil
	}
	msg, err := o.Report.message(s.From, strings.Join(o.To, ">, <"), s.Hostname, s.now())
	if err != nil {
		return err
	}
	if s.Signer != nil {
		if signed, err := s.Signer.Sign(msg); err == nil {
			msg = signed
		} else {
			s.log().Info("dmarc report not DKIM-signed", "err", err)
		}
	}
	env := queue.Envelope{From: s.From, Reason: "dmarc aggregate report for " + o.Domain}
	for _, a := range o.To {
		env.Rcpt = append(env.Rcpt, queue.Recipient{Addr: a})
	}
	id, err := s.Queue.Put(ctx, env, msg)
	if err != nil {
		return fmt.Errorf("dmarc report for %s: %w", o.Domain, err)
	}
	o.ID = id
	s.log().Info("dmarc report queued", "domain", o.Domain, "to", o.To, "messages", o.Messages, "id", id)
	return nil
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Sender) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func domainOf(addr string) string {
	return strings.ToLower(addr[strings.LastIndexByte(addr, '@')+1:])
}
