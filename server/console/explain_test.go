package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/server/auth"
	"github.com/sluicemail/sluice/server/journal"
	"github.com/sluicemail/sluice/server/verdicts"
	"github.com/sluicemail/sluice/stages/resolver"
)

// A verdict the in-memory ring never had (or forgot) is explained from
// the verdict journal: the page tells the same story as `sluice explain`,
// with the DNS answer, the rule with file:line and the facts it read, and
// the shadow rules' disagreement; hostile text in the record stays text.
func TestVerdictExplainedFromJournal(t *testing.T) {
	f := newFixture(t)
	j, err := journal.Open(filepath.Join(f.dir, "journal"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	rec := &journal.Record{Direction: journal.In, Pipeline: "inbound", Session: "S1", Phase: "connect", Action: "reject",
		Code: 554, Enhanced: "5.7.1", Text: "listed", MessageID: "m1@example.org", Subject: `<script>alert("s")</script>`,
		From:     `"<img src=x onerror=alert(1)>" <a@example.org>`,
		Conn:     journal.Conn{IP: "192.0.2.7", HELO: "mx.example.org", Listener: "smtp"},
		Envelope: journal.Envelope{From: "a@example.org", Rcpt: []string{"b@example.net"}},
		Rules: []journal.Rule{{Name: "zen-listed", File: "rules/inbound.yaml", Line: 7, Score: 10, Action: "reject",
			When: "dnsbl.listed", Reads: []string{"dnsbl.listed"}}},
		Facts: journal.FactsJSON(map[string]any{"dnsbl": map[string]any{"listed": true}}),
		DNS: []resolver.Exchange{{Name: "7.2.0.192.zen.example.", Type: "A", Rcode: "success",
			Records: []string{"7.2.0.192.zen.example.\t300\tIN\tA\t127.0.0.2"}, TTL: 300}},
	}
	if err := j.Append(rec, nil); err != nil {
		t.Fatal(err)
	}
	j.Append(&journal.Record{Kind: "shadow", Of: rec.ID, Action: "reject",
		Shadow: &journal.Shadow{Action: "tempfail", Rules: []journal.Rule{{Name: "greylist-all"}}}}, nil)

	c := f.client()
	f.login(c, "admin@example.net", "password1")
	code, body, _ := do(t, c, get(f.srv.URL+"/verdicts/"+rec.ID))
	if code != 200 {
		t.Fatalf("/verdicts/%s: %d\n%s", rec.ID, code, body)
	}
	for _, want := range []string{
		`<pre id="story"`, "Message " + rec.ID, "7.2.0.192.zen.example. A: success 127.0.0.2 (ttl 300)",
		"zen-listed (rules/inbound.yaml:7): score 10, reject", "because: dnsbl.listed = true",
		"Verdict: reject, decided at connect, replied 554 5.7.1 listed",
		`id="shadow" class="bad">would have said tempfail (greylist-all)`,
		"Shadow rules (-) would have said: tempfail by greylist-all",
		"&lt;script&gt;alert(&#34;s&#34;)&lt;/script&gt;",
		// The From header, kept by the journal, fills the From row.
		`&#34;&lt;img src=x onerror=alert(1)&gt;&#34; &lt;a@example.org&gt;`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the explanation lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img") {
		t.Error("a subject from the journal reached the page unescaped")
	}

	// JSON, by bearer token: the verdict and its journal record.
	tok, _ := auth.NewAdminToken(f.dir)
	req := get(f.srv.URL + "/verdicts/" + rec.ID)
	req.Header.Set("Authorization", "Bearer "+tok)
	code, body, _ = do(t, http.DefaultClient, req)
	var got struct {
		verdicts.Verdict
		Journal *journal.Record `json:"journal"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil || code != 200 || got.Action != "reject" || got.Reply != "554 5.7.1 listed" || got.From != rec.From ||
		got.Journal == nil || len(got.Journal.DNS) != 1 || got.Journal.Shadow == nil || got.Journal.Shadow.Action != "tempfail" {
		t.Errorf("JSON: %d %v %s", code, err, body)
	}

	// A verdict in the ring too: the ring's (with its From header) and the
	// journal's story.
	f.ring.Add(verdicts.Verdict{ID: rec.ID, Action: "reject", From: "Ring <a@example.org>"})
	_, body, _ = do(t, c, get(f.srv.URL+"/verdicts/"+rec.ID))
	if !strings.Contains(body, "Ring &lt;a@example.org&gt;") || !strings.Contains(body, "zen-listed (rules/inbound.yaml:7)") {
		t.Errorf("ring verdict with journal story:\n%s", body)
	}
	if code, _, _ := do(t, c, get(f.srv.URL+"/verdicts/"+journal.NewID())); code != http.StatusNotFound {
		t.Errorf("unknown ID: %d", code)
	}

	// What `sluice explain` takes finds it too: the session ID and the
	// Message-ID (with its angle brackets) lead to the verdict's page.
	for _, key := range []string{"S1", "s1", url.PathEscape("<m1@example.org>"), "m1@example.org"} {
		code, _, h := do(t, c, get(f.srv.URL+"/verdicts/"+key))
		if code != http.StatusSeeOther || h.Get("Location") != "/verdicts/"+rec.ID {
			t.Errorf("/verdicts/%s: %d to %q, want 303 to /verdicts/%s", key, code, h.Get("Location"), rec.ID)
		}
	}
	// A session with two transactions: both, listed.
	second := &journal.Record{Direction: journal.In, Pipeline: "inbound", Session: "S1", Phase: "data", Action: "accept",
		Conn: journal.Conn{IP: "192.0.2.7", Listener: "smtp"}, Envelope: journal.Envelope{From: "a@example.org", Rcpt: []string{"c@example.net"}}}
	if err := j.Append(second, nil); err != nil {
		t.Fatal(err)
	}
	j.Sync()
	code, body, _ = do(t, c, get(f.srv.URL+"/verdicts/S1"))
	if code != 200 || !strings.Contains(body, "/verdicts/"+rec.ID) || !strings.Contains(body, "/verdicts/"+second.ID) {
		t.Errorf("a session of two verdicts: %d\n%s", code, body)
	}
	if code, _, _ := do(t, c, get(f.srv.URL+"/verdicts/no-such-session")); code != http.StatusNotFound {
		t.Errorf("unknown key: %d", code)
	}
}
