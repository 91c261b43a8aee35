package tlsrpt_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/sluicemail/sluice/server/tlsrpt"
	"github.com/sluicemail/sluice/stages/resolver"
)

var sts = tlsrpt.Result{PolicyDomain: "example.org", PolicyType: tlsrpt.PolicySTS,
	PolicyString: []string{"version: STSv1", "mode: enforce", "mx: mx.example.org", "max_age: 86400"}, MXHosts: []string{"mx.example.org"}}

func record(r *tlsrpt.Reporter, res tlsrpt.Result, failure, mx string, n int) {
	res.Failure, res.ReceivingMX, res.ReceivingIP, res.SendingIP = failure, mx, "192.0.2.7", "198.51.100.1"
	for range n {
		r.Record(res)
	}
}

// The report has exactly the JSON shape of RFC 8460 section 4.4's
// example: the names, the date format, the counts.
func TestReportJSON(t *testing.T) {
	day := time.Date(2026, 3, 4, 15, 0, 0, 0, time.UTC)
	r, _ := tlsrpt.New(tlsrpt.Options{Submitter: "example.net", Contact: "postmaster@example.net", Now: func() time.Time { return day }})
	record(r, sts, "", "mx.example.org", 5)
	record(r, sts, tlsrpt.Expired, "mx.example.org", 2)
	record(r, sts, tlsrpt.StartTLSNotSupported, "mx2.example.org", 1)
	reps := r.Build("2026-03-04")
	rep := reps["example.org"]
	if len(reps) != 1 || rep == nil {
		t.Fatalf("reports %v", reps)
	}
	b, _ := json.Marshal(rep)
	var got map[string]any
	json.Unmarshal(b, &got)
	want := `{"contact-info":"postmaster@example.net","date-range":{"end-datetime":"2026-03-04T23:59:59Z","start-datetime":"2026-03-04T00:00:00Z"},` +
		`"organization-name":"example.net","policies":[{"failure-details":[` +
		`{"failed-session-count":2,"receiving-ip":"192.0.2.7","receiving-mx-hostname":"mx.example.org","result-type":"certificate-expired","sending-mta-ip":"198.51.100.1"},` +
		`{"failed-session-count":1,"receiving-ip":"192.0.2.7","receiving-mx-hostname":"mx2.example.org","result-type":"starttls-not-supported","sending-mta-ip":"198.51.100.1"}],` +
		`"policy":{"mx-host":["mx.example.org"],"policy-domain":"example.org","policy-string":["version: STSv1","mode: enforce","mx: mx.example.org","max_age: 86400"],"policy-type":"sts"},` +
		`"summary":{"total-failure-session-count":3,"total-successful-session-count":5}}],"report-id":"REPORTID"}`
	got["report-id"] = "REPORTID"
	norm, _ := json.Marshal(got)
	if string(norm) != want {
		t.Errorf("report JSON\n got %s\nwant %s", norm, want)
	}
	if !strings.HasPrefix(rep.ReportID, "2026-03-04.") || !strings.HasSuffix(rep.ReportID, "@example.net") {
		t.Errorf("report-id %q", rep.ReportID)
	}
}

// A finished day's report goes to every rua of the domains that publish
// one: by mail, as section 5.3's multipart/report, and by HTTPS POST;
// a domain without a record gets none; the day is then forgotten.
func TestSendDue(t *testing.T) {
	var mu sync.Mutex
	var posted [][]byte
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != tlsrpt.MediaType {
			http.Error(w, "bad", 400)
			return
		}
		mu.Lock()
		posted = append(posted, b)
		mu.Unlock()
	}))
	defer srv.Close()
	zone, err := resolver.ParseZone(`_smtp._tls.example.org. TXT "v=TLSRPTv1; rua=mailto:tlsrpt@example.org,` + srv.URL + `/report"` + "\n")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 4, 15, 0, 0, 0, time.UTC)
	var mails [][]byte
	var rcpts []string
	dir := t.TempDir()
	opts := tlsrpt.Options{Resolver: zone, Submitter: "example.net", Contact: "postmaster@example.net", HTTP: srv.Client(), Dir: dir,
		Now: func() time.Time { return now },
		Mail: func(_ context.Context, from string, to []string, raw []byte) error {
			mails, rcpts = append(mails, raw), append(rcpts, to...)
			return nil
		}}
	r, _ := tlsrpt.New(opts)
	record(r, sts, "", "mx.example.org", 3)
	other := sts
	other.PolicyDomain, other.PolicyType, other.PolicyString = "no-reports.example", tlsrpt.PolicyNone, nil
	record(r, other, "", "mx.no-reports.example", 1)
	r.SendDue(context.Background())
	if len(mails) != 0 {
		t.Fatal("a report was sent before its day was over")
	}
	// A restart in between keeps the counts.
	if err := r.Save(); err != nil {
		t.Fatal(err)
	}
	now = now.Add(24 * time.Hour)
	r, _ = tlsrpt.New(opts)
	r.SendDue(context.Background())
	if len(mails) != 1 || !slices.Equal(rcpts, []string{"tlsrpt@example.org"}) || len(posted) != 1 {
		t.Fatalf("%d mails to %v, %d posts; want one of each for example.org", len(mails), rcpts, len(posted))
	}
	rep := readMail(t, mails[0])
	if rep.Policies[0].Summary.Successful != 3 || rep.Policies[0].Policy.PolicyDomain != "example.org" {
		t.Errorf("mailed report %+v", rep)
	}
	if rep2 := gunzip(t, posted[0]); rep2.ReportID != rep.ReportID {
		t.Errorf("posted report %q, mailed %q", rep2.ReportID, rep.ReportID)
	}
	r.SendDue(context.Background())
	if len(mails) != 1 {
		t.Error("the day was sent twice")
	}
}

func readMail(t *testing.T, raw []byte) *tlsrpt.Report {
	t.Helper()
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	h := mr.Header
	if h.Get("TLS-Report-Domain") != "example.org" || h.Get("TLS-Report-Submitter") != "example.net" ||
		!strings.HasPrefix(h.Get("Subject"), "Report Domain: example.org Submitter: example.net Report-ID: <") {
		t.Errorf("header %v", h.Header.Map())
	}
	if ct, params, _ := h.ContentType(); ct != "multipart/report" || params["report-type"] != "tlsrpt" {
		t.Errorf("content type %s %v", ct, params)
	}
	for {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatal("no report part:", err)
		}
		if ah, ok := p.Header.(*mail.AttachmentHeader); ok {
			name, _ := ah.Filename()
			if !strings.HasPrefix(name, "example.net!example.org!") || !strings.HasSuffix(name, ".json.gz") {
				t.Errorf("file name %q", name)
			}
			b, _ := io.ReadAll(p.Body)
			return gunzip(t, b)
		}
	}
}

func gunzip(t *testing.T, b []byte) *tlsrpt.Report {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var rep tlsrpt.Report
	if err := json.NewDecoder(zr).Decode(&rep); err != nil {
		t.Fatal(err)
	}
	return &rep
}

func TestParseRecord(t *testing.T) {
	for txt, n := range map[string]int{
		"v=TLSRPTv1; rua=mailto:a@example.com":                             1,
		"v=TLSRPTv1;rua=mailto:a@example.com,https://r.example.com/tlsrpt": 2,
		"v=TLSRPTv1; rua=ftp://x.example, mailto:b@example.com":            1,
		"v=TLSRPTv1; rua=ftp://x.example":                                  0,
		"v=TLSRPTv1;":                                                      0,
		"v=DMARC1; rua=mailto:a@example.com":                               0,
	} {
		rec, err := tlsrpt.ParseRecord(txt)
		if n == 0 && err == nil || n > 0 && (err != nil || len(rec.RUA) != n) {
			t.Errorf("%q: %+v %v, want %d addresses", txt, rec, err, n)
		}
	}
}

func FuzzParseRecord(f *testing.F) {
	f.Add("v=TLSRPTv1; rua=mailto:a@example.com,https://r.example.com/x")
	f.Add("v=TLSRPTv1;rua=%zz")
	f.Fuzz(func(t *testing.T, txt string) {
		rec, err := tlsrpt.ParseRecord(txt)
		if err == nil && len(rec.RUA) == 0 {
			t.Fatal("a record without addresses parsed")
		}
	})
}
