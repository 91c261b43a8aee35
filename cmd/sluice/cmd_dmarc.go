package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sluicemail/sluice/server/config"
	"github.com/sluicemail/sluice/server/queue"
	"github.com/sluicemail/sluice/server/reports"
)

func init() {
	register(&command{
		name:    "dmarc",
		summary: "DMARC aggregate reports: report shows those received, send builds and sends ours now",
		run:     func(args []string) int { return runDMARC(args, os.Stdout, os.Stderr) },
	})
}

const dmarcUsage = "usage: sluice dmarc report --config FILE [--json] [--since T]\n       sluice dmarc send --config FILE [--dry-run]"

func runDMARC(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, dmarcUsage)
		return 2
	}
	switch args[0] {
	case "report":
		return dmarcReport(args[1:], stdout, stderr)
	case "send":
		return dmarcSend(args[1:], stdout, stderr)
	}
	fmt.Fprintln(stderr, dmarcUsage)
	return 2
}

// dmarcReport summarises the reports received at our rua address: per
// domain and source IP, the messages others saw, how many aligned with
// DKIM and SPF, and what they did with them.
func dmarcReport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sluice dmarc report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	confPath := fs.String("config", "", "config file of the server (default: the embedded default)")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	sinceFlag := fs.String("since", "", "only reports whose period ends after T: a date (2026-03-01), an RFC 3339 time or an age (7d, 36h)")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return 2
	}
	since, err := parseSince(*sinceFlag, time.Now())
	if err != nil {
		fmt.Fprintln(stderr, "sluice dmarc report:", err)
		return 2
	}
	cfg, err := loadConfig(*confPath)
	if err != nil {
		fmt.Fprintln(stderr, "sluice dmarc report:", err)
		return 1
	}
	st, err := reports.Open(reports.Dir(cfg.Data), reports.Options{})
	if err != nil {
		fmt.Fprintln(stderr, "sluice dmarc report:", err)
		return 1
	}
	defer st.Close()
	rs, err := st.Reports(since)
	if err != nil {
		fmt.Fprintln(stderr, "sluice dmarc report:", err)
		return 1
	}
	sum := reports.Summarize(rs)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(sum)
		return 0
	}
	printSummary(stdout, sum)
	return 0
}

func printSummary(w io.Writer, sum reports.Summary) {
	if len(sum.Reports) == 0 {
		fmt.Fprintln(w, "no DMARC reports received")
		return
	}
	fmt.Fprintf(w, "%d reports received:\n", len(sum.Reports))
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	for _, r := range sum.Reports {
		fmt.Fprintf(tw, "  %s\t%s\t%s .. %s\t%d messages\n", r.Domain, r.Org, r.Begin.Format(time.DateOnly), r.End.Format(time.DateOnly), r.Messages)
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(tw, "DOMAIN\tSOURCE IP\tMESSAGES\tDKIM ALIGNED\tSPF ALIGNED\tDISPOSITION\tREPORTED BY")
	for _, s := range sum.Sources {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\n", s.Domain, s.SourceIP, s.Count, s.DKIMPass, s.SPFPass, dispositions(s.Dispositions), strings.Join(s.Reporters, ", "))
	}
	tw.Flush()
}

func dispositions(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// parseSince reads --since: empty (everything), a date, an RFC 3339 time,
// or an age in days ("7d") or any Go duration ("36h").
func parseSince(s string, now time.Time) (time.Time, error) {
	switch {
	case s == "":
		return time.Time{}, nil
	case strings.HasSuffix(s, "d"):
		var n int
		if _, err := fmt.Sscanf(s, "%dd", &n); err == nil && n >= 0 {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("--since %q: want a date (2026-03-01), an RFC 3339 time or an age (7d, 36h)", s)
}

// dmarcSend builds and sends now the reports of every evaluation not yet
// reported, today's included: through the running server's admin
// listener when it answers, else on the data directory and the spool
// directly (the server delivers them when it next runs).
func dmarcSend(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sluice dmarc send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	confPath := fs.String("config", "", "config file of the server (default: the embedded default)")
	dry := fs.Bool("dry-run", false, "build and show the reports, send nothing and keep every evaluation")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return 2
	}
	cfg, err := loadConfig(*confPath)
	if err != nil {
		fmt.Fprintln(stderr, "sluice dmarc send:", err)
		return 1
	}
	out, err := sendRemote(cfg, *dry)
	if errors.Is(err, errNoServer) {
		out, err = sendLocal(cfg, *dry)
	}
	if err != nil {
		fmt.Fprintln(stderr, "sluice dmarc send:", err)
		return 1
	}
	printOutgoing(stdout, out, *dry)
	return 0
}

// sendRemote asks the admin listener; errNoServer when nothing answers.
func sendRemote(cfg *config.Config, dry bool) ([]reports.Outgoing, error) {
	if cfg.Listen.Admin == "" {
		return nil, errNoServer
	}
	url := "http://" + cfg.Listen.Admin + "/dmarc/send"
	if dry {
		url += "?dry-run=1"
	}
	resp, err := (&http.Client{Timeout: 5 * time.Minute}).Post(url, "text/plain", nil)
	if err != nil {
		return nil, errNoServer
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if resp.StatusCode != http.StatusOK {
		return nil, errors.New(strings.TrimSpace(string(body)))
	}
	var out []reports.Outgoing
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("admin answer: %w", err)
	}
	return out, nil
}

// sendLocal works on the data directory with no server running.
func sendLocal(cfg *config.Config, dry bool) ([]reports.Outgoing, error) {
	if !cfg.DMARC.Reports {
		return nil, errors.New("DMARC reports are off (dmarc: {reports: true} in the config)")
	}
	dns, err := openResolver(cfg, nil)
	if err != nil {
		return nil, err
	}
	st, err := reports.Open(reports.Dir(cfg.Data), reports.Options{})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	var q reports.Queue
	if !dry {
		sp, err := queue.Open(queue.Dir(cfg.Data), queue.Options{Hostname: cfg.Hostname})
		if err != nil {
			return nil, explainLocked(err)
		}
		defer sp.Close()
		q = sp
	}
	s, err := newReportSender(cfg, st, dns, q)
	if err != nil {
		return nil, err
	}
	return s.Send(context.Background(), time.Now(), dry)
}

func printOutgoing(w io.Writer, out []reports.Outgoing, dry bool) {
	if len(out) == 0 {
		fmt.Fprintln(w, "no reports to send")
		return
	}
	verb := "queued"
	if dry {
		verb = "would send"
	}
	for _, o := range out {
		fmt.Fprintf(w, "%s %s .. %s: %d messages, %d rows\n", o.Domain, o.Begin.Format(time.DateTime), o.End.Format(time.DateTime), o.Messages, len(o.Report.Records))
		for _, to := range o.To {
			fmt.Fprintf(w, "  %s to %s %s\n", verb, to, o.ID)
		}
		for _, r := range o.Refused {
			fmt.Fprintf(w, "  not sent to %s\n", r)
		}
		if dry {
			if doc, err := o.Report.Marshal(); err == nil {
				w.Write(doc)
			}
		}
	}
}
