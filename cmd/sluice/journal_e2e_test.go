package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/sluicemail/sluice/server/auth"
	"github.com/sluicemail/sluice/server/config"
	"github.com/sluicemail/sluice/server/smtp"
	"github.com/sluicemail/sluice/stages/resolver"
	"github.com/sluicemail/sluice/stages/resolver/dnstest"
	"golang.org/x/crypto/bcrypt"
)

const journalInbound = `pipeline: inbound
stages:
  dnsbl:
    query_local: true
    zones: [{zone: bl.example}]
rules:
  - name: dnsbl-listed
    when: dnsbl.listed
    action: reject 554 5.7.1 "Client {{ conn.ip }} is listed at {{ dnsbl.hits[0].zone }}"
  - name: spammy
    when: msg.subject contains "viagra"
    action: junk
  - name: meeting
    when: msg.subject contains "meeting"
    score: 1
`

// journalServer is a whole server, as `sluice serve --config` starts it,
// whose DNS is an in-process server on loopback that the test can stop.
type journalServer struct {
	t      *testing.T
	dir    string
	config string
	in     *instance
	dns    *dnstest.Server
	logs   *lockedBuffer
}

// files are more files to write beside the config before the start.
func startJournalServer(t *testing.T, inbound, more string, files ...string) *journalServer {
	t.Helper()
	auth.HashCost = bcrypt.MinCost
	js := &journalServer{t: t, dir: t.TempDir(), logs: &lockedBuffer{}}
	zone, err := resolver.ParseZone("$ORIGIN .\n$TTL 300\n1.0.0.127.bl.example. A 127.0.0.2\n")
	if err != nil {
		t.Fatal(err)
	}
	js.dns = dnstest.StartServer(t, zone)
	js.write("rules/inbound.yaml", inbound)
	js.write("rules/outbound.yaml", e2eOutbound)
	for i := 0; i+1 < len(files); i += 2 {
		js.write(files[i], files[i+1])
	}
	js.config = js.write("sluice.yaml", fmt.Sprintf(`hostname: mx.example.net
domains: [example.net]
data: data
listen: {smtp: "127.0.0.1:0", submission: "127.0.0.1:0", submissions: "127.0.0.1:0", imaps: "127.0.0.1:0", admin: "127.0.0.1:0"}
rules: rules
dns: {servers: ["%s"]}
log: {level: debug}
%s`, js.dns.Addr, more))
	cfg, err := config.Load(js.config)
	if err != nil {
		t.Fatal(err)
	}
	accounts, err := auth.Open(cfg.Data)
	if err != nil {
		t.Fatal(err)
	}
	if err := accounts.AddUser("alice@example.net", "password1"); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(js.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if js.in, err = start(cfg, log); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		js.in.stop(5 * time.Second)
		if t.Failed() {
			t.Logf("server log:\n%s", js.logs.String())
		}
	})
	return js
}

func (js *journalServer) write(name, text string) string {
	p := filepath.Join(js.dir, name)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		js.t.Fatal(err)
	}
	return p
}

// sendFrom sends one message over the MX listener from a local address
// (Linux answers on all of 127/8; the zone lists 127.0.0.1 only).
func (js *journalServer) sendFrom(local, from, subject, msgID string) error {
	js.t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	conn, err := d.Dial("tcp", js.in.smtp.Addr(smtp.MX).String())
	if err != nil {
		js.t.Skipf("cannot dial from %s: %v", local, err)
	}
	c := gosmtp.NewClient(conn)
	defer c.Close()
	msg := fmt.Sprintf("From: <%s>\r\nTo: <alice@example.net>\r\nSubject: %s\r\nMessage-ID: <%s>\r\n\r\nHello.\r\n", from, subject, msgID)
	return c.SendMail(from, []string{"alice@example.net"}, strings.NewReader(msg))
}

// journalID is the journal ID in the verdict log line holding want.
func (js *journalServer) journalID(want string) string {
	js.t.Helper()
	for _, line := range strings.Split(js.logs.String(), "\n") {
		if strings.Contains(line, "msg=verdict") && strings.Contains(line, want) {
			if m := regexp.MustCompile(`journal=(\w+)`).FindStringSubmatch(line); m != nil {
				return m[1]
			}
		}
	}
	js.t.Fatalf("no verdict line with %q and a journal ID", want)
	return ""
}

func (js *journalServer) run(f func([]string, *bytes.Buffer, *bytes.Buffer) int, args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := f(args, &out, &errb)
	return out.String(), errb.String(), code
}

func explain(args []string, out, errb *bytes.Buffer) int   { return runExplain(args, out, errb) }
func replayCmd(args []string, out, errb *bytes.Buffer) int { return runReplay(args, out, errb) }

// TestJournalExplainReplay is the story of issue 12 end to end: a real
// SMTP client sends a message a DNSBL rule refuses at connection, one
// junked on its content and one delivered; explain tells each (the rule
// with file:line, the DNS answer that mattered); then, with the DNS
// server stopped, replay with a changed rule set reproduces the old
// verdicts of the unchanged rules from the recorded answers and reports
// the one that changed, failing the deploy gate.
func TestJournalExplainReplay(t *testing.T) {
	js := startJournalServer(t, journalInbound, "")
	err := js.sendFrom("127.0.0.1", "x@listed.example", "hello", "listed@e2e.test")
	if se, ok := err.(*gosmtp.SMTPError); !ok || se.Code != 554 {
		t.Fatalf("listed client: %v", err)
	}
	if err := js.sendFrom("127.0.0.2", "s@example.org", "cheap viagra", "junk@e2e.test"); err != nil {
		t.Fatal(err)
	}
	if err := js.sendFrom("127.0.0.2", "s@example.org", "meeting notes", "ok@e2e.test"); err != nil {
		t.Fatal(err)
	}
	rulesFile := filepath.Join(js.dir, "rules", "inbound.yaml")

	// The refusal at connection, by the ID in its log line.
	id := js.journalID("rules=[dnsbl-listed]")
	out, stderr, code := js.run(explain, "--config", js.config, id)
	for _, want := range []string{
		"Message " + id, "Connection: 127.0.0.1", "dnsbl-listed (" + rulesFile + ":7)", "when: dnsbl.listed",
		"because: dnsbl.listed = true", "1.0.0.127.bl.example. A: success 127.0.0.2 (ttl 300)",
		"Verdict: reject, decided at connect, replied 554 5.7.1 Client 127.0.0.1 is listed at bl.example",
		"No message text: refused before DATA",
	} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("explain %s (exit %d, %s) lacks %q:\n%s", id, code, stderr, want, out)
		}
	}
	// Found by --ip too: a refusal before DATA has no Message-ID.
	if out2, _, _ := js.run(explain, "--config", js.config, "--ip", "127.0.0.1"); out2 != out {
		t.Errorf("explain --ip differs from explain ID:\n%s", out2)
	}

	// The junked one, by its Message-ID as the user has it in hand.
	out, _, code = js.run(explain, "--config", js.config, "<junk@e2e.test>")
	for _, want := range []string{"spammy (" + rulesFile + ":10)", "msg.subject = \"cheap viagra\"", "Verdict: junk, decided at data",
		"2.0.0.127.bl.example. A: nxdomain", "copy kept in the journal"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("explain junk lacks %q:\n%s", want, out)
		}
	}

	// The delivered one, as JSON.
	out, _, code = js.run(explain, "--config", js.config, "--json", "ok@e2e.test")
	var j struct {
		ID, Action string
		MessageID  string `json:"message_id"`
		Rules      []struct {
			Name, File string
			Line       int
		}
		Facts map[string]any
		DNS   []map[string]any
	}
	if err := json.Unmarshal([]byte(out), &j); err != nil || code != 0 {
		t.Fatalf("explain --json (exit %d): %v\n%s", code, err, out)
	}
	if j.ID == "" || j.Action != "accept" || len(j.Rules) != 1 || j.Rules[0].Name != "meeting" || j.Rules[0].Line != 13 ||
		j.Rules[0].File != rulesFile || j.Facts["dnsbl"] == nil || len(j.DNS) != 1 {
		t.Errorf("explain --json: %+v", j)
	}
	// message_id is the JSON name (not MessageID).
	if !strings.Contains(out, `"message_id":"ok@e2e.test"`) {
		t.Errorf("explain --json has no message_id: %s", out)
	}
	// Several matches: a list.
	out, _, _ = js.run(explain, "--config", js.config, "--ip", "127.0.0.2")
	if !strings.HasPrefix(out, "2 messages match") {
		t.Errorf("explain --ip 127.0.0.2:\n%s", out)
	}
	// An unknown ID: a clear message and exit 2.
	_, stderr, code = js.run(explain, "--config", js.config, "NOSUCHID")
	if code != 2 || !strings.Contains(stderr, `no message with ID or Message-ID "NOSUCHID"`) {
		t.Errorf("unknown ID: exit %d, %q", code, stderr)
	}

	// Replay, offline: the DNS of the time is gone.
	js.dns.Stop()
	newRules := filepath.Join(js.dir, "newrules")
	js.write("newrules/inbound.yaml", strings.Replace(journalInbound, "    score: 1\n", "    action: discard\n", 1))
	out, stderr, code = js.run(replayCmd, "--config", js.config, "--rules", newRules, "--json")
	if code != replayRefusesDelivered {
		t.Errorf("replay exit %d, want %d (a delivered message is now discarded); stderr %s", code, replayRefusesDelivered, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("replay --json: want one changed message and the summary:\n%s", out)
	}
	var changed struct {
		ID        string
		MessageID string `json:"message_id"`
		Old, New  struct {
			Action string
			Rules  []struct {
				Name, File string
				Line       int
			}
		}
	}
	json.Unmarshal([]byte(lines[0]), &changed)
	if changed.MessageID != "ok@e2e.test" || changed.Old.Action != "accept" || changed.New.Action != "discard" ||
		len(changed.New.Rules) != 1 || changed.New.Rules[0].File != filepath.Join(newRules, "inbound.yaml") {
		t.Errorf("changed message: %s", lines[0])
	}
	var sum struct {
		Summary struct {
			Messages, Changed int
			Moves             map[string]int
		}
	}
	json.Unmarshal([]byte(lines[1]), &sum)
	want := map[string]int{"accept -> discard": 1, "junk -> junk": 1, "reject -> reject": 1}
	if sum.Summary.Messages != 3 || sum.Summary.Changed != 1 || fmt.Sprint(sum.Summary.Moves) != fmt.Sprint(want) {
		t.Errorf("replay summary: %s", lines[1])
	}
	// The text form says the same for a human.
	out, _, _ = js.run(replayCmd, "--config", js.config, "--rules", newRules)
	for _, want := range []string{": accept -> discard", "new rule meeting at " + filepath.Join(newRules, "inbound.yaml") + ":13",
		"accept -> discard  1", "1 messages that were delivered would be refused or discarded"} {
		if !strings.Contains(out, want) {
			t.Errorf("replay text lacks %q:\n%s", want, out)
		}
	}
	// The live rules replay to no change at all, still without DNS.
	out, stderr, code = js.run(replayCmd, "--config", js.config, "--rules", filepath.Join(js.dir, "rules"), "--json")
	if code != 0 || !strings.Contains(out, `"changed":0`) {
		t.Errorf("replay with the same rules: exit %d %s\n%s", code, stderr, out)
	}

	// A rule set that does not compile: its errors with file:line:col.
	js.write("broken/inbound.yaml", "pipeline: inbound\nrules:\n  - name: typo\n    when: dnsbl.lsted\n    action: junk\n")
	_, stderr, code = js.run(replayCmd, "--config", js.config, "--rules", filepath.Join(js.dir, "broken"))
	if code != replayError || !regexp.MustCompile(`broken/inbound\.yaml:4:\d+: `).MatchString(stderr) {
		t.Errorf("broken rules: exit %d, %q", code, stderr)
	}
}

// A journal written by a newer sluice is refused with a clear error, by
// explain and by replay alike.
func TestJournalNewerVersionRefused(t *testing.T) {
	dir := t.TempDir()
	jdir := filepath.Join(dir, "journal")
	os.MkdirAll(jdir, 0o700)
	os.WriteFile(filepath.Join(jdir, "20261205-0001.jsonl"), []byte(`{"journal":"sluice","version":7}`+"\n{}\n"), 0o600)
	var out, errb bytes.Buffer
	code := runExplain([]string{"--data", dir, "SOMEID"}, &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), "journal format version 7 is newer than this sluice reads") {
		t.Errorf("explain: exit %d, %q", code, errb.String())
	}
	errb.Reset()
	code = runReplay([]string{"--data", dir, "--rules", "../../examples/rules"}, &out, &errb)
	if code != replayError || !strings.Contains(errb.String(), "journal format version 7 is newer") {
		t.Errorf("replay: exit %d, %q", code, errb.String())
	}
}
