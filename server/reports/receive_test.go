package reports

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// stalwart's expected parse of each report (testdata/README.md).
type expected struct {
	Metadata struct {
		OrgName  string `json:"org_name"`
		ReportID string `json:"report_id"`
	} `json:"report_metadata"`
	Policy struct {
		Domain string `json:"domain"`
	} `json:"policy_published"`
	Record []struct {
		Row struct {
			SourceIP string `json:"source_ip"`
			Count    int64  `json:"count"`
			Eval     struct {
				Disposition, DKIM, SPF string
			} `json:"policy_evaluated"`
		} `json:"row"`
	} `json:"record"`
}

func loadExpected(t *testing.T, path string) expected {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var e expected
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

func checkParsed(t *testing.T, name string, fb *Feedback, want expected) {
	t.Helper()
	if fb.Metadata.OrgName != want.Metadata.OrgName || fb.Metadata.ReportID != want.Metadata.ReportID || fb.Policy.Domain != want.Policy.Domain {
		t.Errorf("%s: %+v %+v", name, fb.Metadata, fb.Policy)
	}
	if len(fb.Records) != len(want.Record) {
		t.Fatalf("%s: %d records, want %d", name, len(fb.Records), len(want.Record))
	}
	for i, r := range want.Record {
		got := fb.Records[i].Row
		if got.SourceIP != r.Row.SourceIP || got.Count != r.Row.Count ||
			got.PolicyEvaluated.Disposition != strings.ToLower(r.Row.Eval.Disposition) || got.PolicyEvaluated.DKIM != strings.ToLower(r.Row.Eval.DKIM) {
			t.Errorf("%s record %d: %+v, want %+v", name, i, got, r.Row)
		}
	}
}

// Real report mails (Google's zip, Mail.Ru's gzip, Outlook's, Amazon's)
// are taken in and show in the summary.
func TestIngestRealReports(t *testing.T) {
	st, err := Open(t.TempDir(), Options{Address: "DMARC@stalw.art", Now: func() time.Time { return day }})
	if err != nil {
		t.Fatal(err)
	}
	if !st.IsAddress("<dmarc@STALW.ART>") || st.IsAddress("other@stalw.art") {
		t.Error("IsAddress")
	}
	mails, _ := filepath.Glob("testdata/received/1*.eml")
	if len(mails) != 5 {
		t.Fatalf("%d mails", len(mails))
	}
	for _, m := range mails {
		raw, _ := os.ReadFile(m)
		if err := st.Ingest(raw); err != nil {
			t.Errorf("%s: %v", m, err)
			continue
		}
		fb, _ := ParseMessage(raw)
		checkParsed(t, m, fb, loadExpected(t, strings.TrimSuffix(m, ".eml")+".json"))
	}
	rs, err := st.Reports(time.Time{})
	if err != nil || len(rs) != 5 {
		t.Fatalf("%d reports kept: %v", len(rs), err)
	}
	sum := Summarize(rs)
	if len(sum.Reports) != 5 {
		t.Errorf("summary: %+v", sum)
	}
	var total int64
	for _, s := range sum.Sources {
		total += s.Count
		if s.Domain != "stalw.art" {
			t.Errorf("source %+v", s)
		}
	}
	if total != 5 || sum.Sources[0].SourceIP != "50.223.129.194" || sum.Sources[0].Count != 3 || len(sum.Sources[0].Reporters) != 3 {
		t.Errorf("sources: %+v", sum.Sources)
	}
	if rs, _ := st.Reports(time.Unix(1700000000, 0)); len(rs) != 0 {
		t.Errorf("--since after every report kept %d", len(rs))
	}
	// The same report twice is kept once.
	raw, _ := os.ReadFile(mails[0])
	st.Ingest(raw)
	if rs, _ := st.Reports(time.Time{}); len(rs) != 5 {
		t.Errorf("a repeated report: %d kept", len(rs))
	}
}

func TestParseDocuments(t *testing.T) {
	docs, _ := filepath.Glob("testdata/received/00*.xml")
	if len(docs) != 5 {
		t.Fatalf("%d documents", len(docs))
	}
	for _, d := range docs {
		b, _ := os.ReadFile(d)
		fb, err := ParseXML(b)
		if err != nil {
			t.Errorf("%s: %v", d, err)
			continue
		}
		checkParsed(t, d, fb, loadExpected(t, strings.TrimSuffix(d, ".xml")+".json"))
	}
}

func TestNotAReport(t *testing.T) {
	st, _ := Open(t.TempDir(), Options{})
	for name, raw := range map[string]string{
		"plain text":   "From: a@b\r\nSubject: hi\r\n\r\nhello\r\n",
		"broken gzip":  "Content-Type: application/gzip\r\nContent-Transfer-Encoding: base64\r\n\r\nH4sIAAAA\r\n",
		"other XML":    "Content-Type: text/xml\r\n\r\n<html><body/></html>\r\n",
		"no report id": "Content-Type: text/xml\r\n\r\n<feedback><report_metadata><org_name>x</org_name></report_metadata></feedback>\r\n",
	} {
		if err := st.Ingest([]byte(raw)); err == nil || !IsNotReport(err) || errors.Is(err, ErrStore) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if rs, _ := st.Reports(time.Time{}); len(rs) != 0 {
		t.Errorf("kept %d", len(rs))
	}
}

// FuzzParseMessage: no mail makes the parser panic or take in a report
// without its reporter, ID and domain.
func FuzzParseMessage(f *testing.F) {
	mails, _ := filepath.Glob("testdata/received/*")
	for _, m := range mails {
		if b, err := os.ReadFile(m); err == nil && !strings.HasSuffix(m, ".json") {
			if strings.HasSuffix(m, ".xml") {
				b = append([]byte("Content-Type: text/xml\r\n\r\n"), b...)
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fb, err := ParseMessage(raw)
		if err == nil && (fb.Metadata.OrgName == "" || fb.Metadata.ReportID == "" || fb.Policy.Domain == "") {
			t.Fatalf("took in an incomplete report: %+v", fb)
		}
	})
}
