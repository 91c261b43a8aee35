package reports

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message"
	"github.com/sluicemail/sluice/server/queue"
	"github.com/sluicemail/sluice/stages/resolver"
)

// recordingQueue keeps what the sender queues.
type recordingQueue struct {
	mu   sync.Mutex
	envs []queue.Envelope
	raws [][]byte
}

func (q *recordingQueue) Put(ctx context.Context, env queue.Envelope, raw []byte) (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.envs = append(q.envs, env)
	q.raws = append(q.raws, raw)
	return "Q" + string(rune('0'+len(q.envs))), nil
}

// day is the UTC day the evaluations of these tests fall on.
var day = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

const reportZone = `
_dmarc.example.org.           IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.org,mailto:agg@reports.example; pct=50; adkim=s"
_dmarc.other.example.         IN TXT "v=DMARC1; p=quarantine; sp=none; rua=mailto:rua@reports.example!10m"
_dmarc.norua.example.         IN TXT "v=DMARC1; p=none"
other.example._report._dmarc.reports.example. IN TXT "v=DMARC1"
`

func newSender(t *testing.T, z *resolver.Zone) (*Sender, *recordingQueue) {
	t.Helper()
	st, err := Open(t.TempDir(), Options{Address: "dmarc-reports@example.net", Now: func() time.Time { return day.Add(30 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	q := &recordingQueue{}
	return &Sender{Store: st, DNS: z, Queue: q, OrgName: "mx.example.net", From: "postmaster@example.net",
		Hostname: "mx.example.net", Now: func() time.Time { return day.Add(30 * time.Hour) }, Logger: slog.New(slog.DiscardHandler)}, q
}

// aDay records a day of evaluations: passing and failing mail from
// example.org's servers and a forger, IPv6, a forward, the null sender.
func aDay(st *Store) {
	at := func(h int) time.Time { return day.Add(time.Duration(h) * time.Hour) }
	good := Evaluation{SourceIP: "192.0.2.10", HeaderFrom: "example.org", EnvelopeFrom: "example.org", EnvelopeTo: "example.net",
		Policy: "reject", Disposition: "none", DKIMAligned: true, SPFAligned: true,
		DKIM: []Auth{{Domain: "example.org", Selector: "s1", Result: "pass"}}, SPF: Auth{Domain: "example.org", Scope: "mfrom", Result: "pass"}}
	for h := 0; h < 5; h++ {
		ev := good
		ev.Time = at(h)
		st.Record(ev)
	}
	forged := Evaluation{Time: at(6), SourceIP: "198.51.100.7", HeaderFrom: "example.org", EnvelopeFrom: "forger.example",
		Policy: "reject", Disposition: "reject", SPF: Auth{Domain: "forger.example", Scope: "mfrom", Result: "softfail"}}
	st.Record(forged)
	sampled := forged
	sampled.Time, sampled.Policy, sampled.Disposition, sampled.SampledOut = at(7), "quarantine", "quarantine", true
	st.Record(sampled)
	v6 := good
	v6.Time, v6.SourceIP = at(8), "2001:db8::25"
	st.Record(v6)
	fwd := Evaluation{Time: at(9), SourceIP: "203.0.113.5", HeaderFrom: "example.org", EnvelopeFrom: "",
		Policy: "reject", Disposition: "none", Forwarded: true,
		DKIM: []Auth{{Domain: "example.org", Selector: "s1", Result: "fail"}, {Domain: "lists.example", Selector: "k", Result: "pass"}},
		SPF:  Auth{Domain: "mail.lists.example", Scope: "helo", Result: "pass"}}
	st.Record(fwd)
	sub := Evaluation{Time: at(10), SourceIP: "192.0.2.20", HeaderFrom: "news.other.example", EnvelopeFrom: "other.example",
		Policy: "none", Disposition: "none", SPFAligned: true, SPF: Auth{Domain: "other.example", Scope: "mfrom", Result: "pass"}}
	st.Record(sub)
	st.Record(Evaluation{Time: at(11), SourceIP: "192.0.2.30", HeaderFrom: "norua.example", Policy: "none", Disposition: "none"})
	st.Record(Evaluation{Time: day.Add(25 * time.Hour), SourceIP: "192.0.2.10", HeaderFrom: "example.org", Policy: "reject", Disposition: "none", DKIMAligned: true})
}

func TestSendReports(t *testing.T) {
	z, err := resolver.ParseZone(reportZone)
	if err != nil {
		t.Fatal(err)
	}
	s, q := newSender(t, z)
	aDay(s.Store)
	out, err := s.Send(context.Background(), day.Add(24*time.Hour), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || len(q.envs) != 2 {
		t.Fatalf("%d reports, %d queued; want 2 (example.org, other.example; norua.example asked for none)", len(out), len(q.envs))
	}
	org, other := out[0], out[1]
	// agg@reports.example is at another organisation and example.org did
	// not authorise it: only dmarc@example.org gets example.org's report.
	if org.Domain != "example.org" || strings.Join(org.To, ",") != "dmarc@example.org" || len(org.Refused) != 1 || org.Messages != 9 {
		t.Errorf("example.org: %+v", org)
	}
	if other.Domain != "other.example" || strings.Join(other.To, ",") != "rua@reports.example" || other.Messages != 1 {
		t.Errorf("other.example: %+v", other)
	}
	if env := q.envs[0]; env.From != "postmaster@example.net" || env.Rcpt[0].Addr != "dmarc@example.org" {
		t.Errorf("envelope %+v", env)
	}
	fb := attachedReport(t, q.raws[0])
	if fb.Policy.P != "reject" || fb.Policy.SP != "reject" || fb.Policy.Pct != "50" || fb.Policy.ADKIM != "s" || fb.Policy.ASPF != "r" {
		t.Errorf("policy_published %+v", fb.Policy)
	}
	rows := map[string]Record{}
	for _, r := range fb.Records {
		rows[r.Row.SourceIP+"/"+r.Row.PolicyEvaluated.Disposition] = r
	}
	for key, want := range map[string]int64{"192.0.2.10/none": 5, "198.51.100.7/reject": 1, "198.51.100.7/quarantine": 1,
		"2001:0db8:0000:0000:0000:0000:0000:0025/none": 1, "203.0.113.5/none": 1} {
		if rows[key].Row.Count != want {
			t.Errorf("row %s: count %d, want %d (rows %v)", key, rows[key].Row.Count, want, rows)
		}
	}
	if r := rows["198.51.100.7/quarantine"].Row.PolicyEvaluated; len(r.Reasons) != 1 || r.Reasons[0].Type != "sampled_out" {
		t.Errorf("sampled out: %+v", r)
	}
	if r := rows["203.0.113.5/none"]; r.Row.PolicyEvaluated.Reasons[0].Type != "trusted_forwarder" || r.Identifiers.EnvelopeFrom != "mail.lists.example" || len(r.AuthResults.DKIM) != 2 {
		t.Errorf("forwarded: %+v", r)
	}
	if fb.Metadata.DateRange.Begin != day.Unix() || fb.Metadata.DateRange.End != day.Add(24*time.Hour-time.Second).Unix() {
		t.Errorf("date range %+v", fb.Metadata.DateRange)
	}
	// The evaluation of the next day waits for its own report; the rest
	// is done with.
	evs, _, _ := s.Store.pending(true)
	if len(evs) != 1 || !evs[0].Time.Equal(day.Add(25*time.Hour)) {
		t.Errorf("left pending: %+v", evs)
	}
	if out, _ := s.Send(context.Background(), day.Add(24*time.Hour), false); len(out) != 0 {
		t.Errorf("a second run sent %d reports again", len(out))
	}
}

func TestSendRetriesTemporaryFailure(t *testing.T) {
	z, _ := resolver.ParseZone(reportZone)
	z.Fail("_dmarc.example.org", resolver.ErrTimeout)
	s, q := newSender(t, z)
	aDay(s.Store)
	out, err := s.Send(context.Background(), day.Add(24*time.Hour), false)
	if err != nil || len(out) != 1 || out[0].Domain != "other.example" || len(q.envs) != 1 {
		t.Fatalf("%v: %+v", err, out)
	}
	evs, _, _ := s.Store.pending(true)
	if len(evs) != 10 { // 9 of example.org kept for the next run, 1 of the next day
		t.Errorf("kept %d evaluations, want 10", len(evs))
	}
	// A dry run builds without sending or forgetting.
	s.DNS, _ = resolver.ParseZone(reportZone)
	out, err = s.Send(context.Background(), day.Add(48*time.Hour), true)
	if err != nil || len(out) != 2 || len(q.envs) != 1 {
		t.Fatalf("dry run: %v, %d reports, %d queued", err, len(out), len(q.envs))
	}
	if evs, _, _ := s.Store.pending(true); len(evs) != 10 {
		t.Errorf("a dry run changed the store: %d evaluations", len(evs))
	}
}

// attachedReport takes the gzipped report out of a report mail.
func attachedReport(t *testing.T, raw []byte) *Feedback {
	t.Helper()
	doc := attachedXML(t, raw)
	fb, err := ParseXML(doc)
	if err != nil {
		t.Fatal(err)
	}
	return fb
}

func attachedXML(t *testing.T, raw []byte) []byte {
	t.Helper()
	ent, err := message.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var doc []byte
	ent.Walk(func(_ []int, p *message.Entity, _ error) error {
		if ct, params, _ := p.Header.ContentType(); ct == "application/gzip" {
			if !strings.HasSuffix(params["name"], ".xml.gz") || strings.Count(params["name"], "!") != 4 {
				t.Errorf("attachment name %q", params["name"])
			}
			zr, err := gzip.NewReader(p.Body)
			if err != nil {
				t.Fatal(err)
			}
			doc, _ = io.ReadAll(zr)
		}
		return nil
	})
	if doc == nil {
		t.Fatalf("no application/gzip part in\n%s", raw)
	}
	return doc
}

// The report validates against RFC 7489 Appendix C's schema with
// libxml2's xmllint (Debian libxml2-utils), the RFC's erratum fixed as
// testdata/README.md says.
func TestReportSchema(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("xmllint not found: install libxml2-utils")
		}
		t.Skip("xmllint not found: install libxml2-utils")
	}
	xsd, err := os.ReadFile("testdata/rfc7489-appendix-c.xsd")
	if err != nil {
		t.Fatal(err)
	}
	const ns = "\n     targetNamespace=\"http://dmarc.org/dmarc-xml/0.1\""
	if bytes.Count(xsd, []byte(ns)) != 1 {
		t.Fatal("the schema no longer has the one targetNamespace attribute the fix removes")
	}
	dir := t.TempDir()
	fixed := filepath.Join(dir, "rua.xsd")
	os.WriteFile(fixed, bytes.Replace(xsd, []byte(ns), nil, 1), 0o644)

	z, _ := resolver.ParseZone(reportZone)
	s, q := newSender(t, z)
	aDay(s.Store)
	if _, err := s.Send(context.Background(), day.Add(48*time.Hour), false); err != nil {
		t.Fatal(err)
	}
	if len(q.raws) != 3 {
		t.Fatalf("%d reports", len(q.raws))
	}
	for i, raw := range q.raws {
		doc := filepath.Join(dir, "report.xml")
		os.WriteFile(doc, attachedXML(t, raw), 0o644)
		out, err := exec.Command(xmllint, "--noout", "--schema", fixed, doc).CombinedOutput()
		if err != nil {
			t.Errorf("report %d does not validate: %v\n%s\n%s", i, err, out, attachedXML(t, raw))
		}
	}
	// And the check can fail: a report without its required policy.
	bad := bytes.Replace(attachedXML(t, q.raws[0]), []byte("<p>reject</p>"), nil, 1)
	os.WriteFile(filepath.Join(dir, "bad.xml"), bad, 0o644)
	if out, err := exec.Command(xmllint, "--noout", "--schema", fixed, filepath.Join(dir, "bad.xml")).CombinedOutput(); err == nil {
		t.Errorf("a report without p= validated:\n%s", out)
	}
}

func TestIPv6InSchemaForm(t *testing.T) {
	for in, want := range map[string]string{"2001:db8::1": "2001:0db8:0000:0000:0000:0000:0000:0001", "192.0.2.1": "192.0.2.1", "::ffff:192.0.2.1": "::ffff:192.0.2.1"} {
		if got := schemaIP(in); got != want {
			t.Errorf("schemaIP(%s) = %s", in, got)
		}
	}
}
