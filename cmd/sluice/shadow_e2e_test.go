package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/server/auth"
	"github.com/sluicemail/sluice/server/journal"
)

func shadowRun(args []string, out, errb *bytes.Buffer) int { return runShadow(args, out, errb) }

// A shadow set that junks more than the live one: the live verdict is
// unchanged (the message is delivered to the inbox), the disagreement is
// journalled beside the verdict, listed by `shadow report` and counted in
// /metrics; `shadow promote` then makes it live through a reload.
func TestShadowRules(t *testing.T) {
	shadowRules := strings.Replace(journalInbound, "    score: 1\n", "    action: junk\n", 1)
	js := startJournalServer(t, journalInbound, "shadow_rules: shadow\n", "shadow/inbound.yaml", shadowRules)
	if err := js.sendFrom("127.0.0.2", "s@example.org", "meeting notes", "m1@e2e.test"); err != nil {
		t.Fatal(err)
	}
	if err := js.sendFrom("127.0.0.2", "s@example.org", "lunch", "m2@e2e.test"); err != nil {
		t.Fatal(err)
	}
	js.in.shadow.Wait()
	// The live verdicts stand: both delivered to the inbox.
	recs, err := journal.Find(journalDir(js.in.cfg), journal.Query{}, nil)
	if err != nil || len(recs) != 2 || recs[0].Action != "accept" || recs[1].Action != "accept" {
		t.Fatalf("live records: %v %+v", err, recs)
	}
	dir, _ := js.in.store.MailboxDir("alice@example.net", "INBOX")
	// The wait is for the delivery workers, not a timing assertion.
	waitFor(t, func() bool { ents, _ := os.ReadDir(filepath.Join(dir, "new")); return len(ents) == 2 }, "two messages in the inbox")

	out, stderr, code := js.run(shadowRun, "report", "--config", js.config)
	if code != 0 || !strings.Contains(out, recs[0].ID+"  ") || !strings.Contains(out, "live accept (meeting), shadow junk (meeting)") ||
		!strings.Contains(out, "1 disagreements") || !strings.Contains(out, "live accept, shadow junk: 1") || strings.Contains(out, recs[1].ID) {
		t.Errorf("shadow report (exit %d, %s):\n%s", code, stderr, out)
	}
	out, _, _ = js.run(shadowRun, "report", "--config", js.config, "--json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var d struct {
		ID           string
		MessageID    string `json:"message_id"`
		Live, Shadow struct{ Action string }
	}
	if len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &d) != nil || d.ID != recs[0].ID || d.MessageID != "m1@e2e.test" ||
		d.Live.Action != "accept" || d.Shadow.Action != "junk" || !strings.Contains(lines[1], `"accept -> junk":1`) {
		t.Errorf("shadow report --json:\n%s", out)
	}

	resp, err := http.Get("http://" + js.in.admin.Addr.String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `sluice_shadow_disagreements_total{live="accept",shadow="junk"} 1`) {
		t.Errorf("/metrics lacks the disagreement:\n%s", body)
	}

	// explain and the console's explanation tell the disagreement beside
	// the live verdict, in the same words.
	out, stderr, code = js.run(explain, "--config", js.config, recs[0].ID)
	if want := "would have said: junk by meeting"; code != 0 || !strings.Contains(out, want) {
		t.Errorf("explain lacks %q (exit %d, %s):\n%s", want, code, stderr, out)
	}
	tok, err := auth.NewAdminToken(js.in.cfg.Data)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "http://"+js.in.admin.Addr.String()+"/verdicts/"+recs[0].ID, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var page struct {
		Action  string
		Journal *journal.Record
	}
	err = json.NewDecoder(resp.Body).Decode(&page)
	resp.Body.Close()
	if err != nil || page.Action != "accept" || page.Journal == nil || page.Journal.Shadow == nil || page.Journal.Shadow.Action != "junk" {
		t.Errorf("console /verdicts/%s: %v %+v", recs[0].ID, err, page)
	}

	// Promote: point the config at the running admin listener, as a real
	// config names a fixed one.
	conf, _ := os.ReadFile(js.config)
	os.WriteFile(js.config, []byte(strings.Replace(string(conf), `admin: "127.0.0.1:0"`, `admin: "`+js.in.admin.Addr.String()+`"`, 1)), 0o600)
	out, stderr, code = js.run(shadowRun, "promote", "--config", js.config)
	if code != 0 || !strings.Contains(out, "rules reloaded") {
		t.Fatalf("promote: exit %d %s\n%s", code, stderr, out)
	}
	if got, _ := os.ReadFile(filepath.Join(js.dir, "rules", "inbound.yaml")); string(got) != shadowRules {
		t.Errorf("live rules after promote:\n%s", got)
	}
	if err := js.sendFrom("127.0.0.2", "s@example.org", "meeting again", "m3@e2e.test"); err != nil {
		t.Fatal(err)
	}
	recs, _ = journal.Find(journalDir(js.in.cfg), journal.Query{Key: "m3@e2e.test"}, nil)
	if len(recs) != 1 || recs[0].Action != "junk" {
		t.Errorf("after promote the live verdict is %+v, want junk", recs)
	}
}
