package main

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	gomilter "github.com/d--j/go-milter"
	"github.com/sluicemail/sluice/server/config"
	"github.com/sluicemail/sluice/server/journal"
)

const milterTestRules = `pipeline: inbound
rules:
  - name: per-ip
    when: rate_exceeded("per-ip", conn.ip, "1/h")
    action: tempfail 450 4.7.1 "Slow down, {{ conn.ip }}"
`

// milterConfig writes a config directory with the rules above and these
// listen settings, and loads it.
func milterConfig(t *testing.T, listen string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "rules"), 0o755)
	os.WriteFile(filepath.Join(dir, "rules", "inbound.yaml"), []byte(milterTestRules), 0o644)
	os.WriteFile(filepath.Join(dir, "sluice.yaml"), []byte("hostname: mx.example.net\ndomains: [example.net]\ndata: data\nrules: rules\ndns: {zonefile: empty.zone}\nlisten: "+listen+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "empty.zone"), []byte("$ORIGIN .\n$TTL 300\n"), 0o644)
	cfg, err := config.Load(filepath.Join(dir, "sluice.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// milterMail plays the MTA for one SMTP session with one MAIL FROM, over
// a real milter connection, and returns the milter's answer to MAIL.
func milterMail(t *testing.T, addr string) *gomilter.Action {
	t.Helper()
	c := gomilter.NewClient("tcp", addr)
	s, err := c.Session(gomilter.NewMacroBag())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Conn("client.example.org", gomilter.FamilyInet, 40000, "192.0.2.9")
	s.Helo("client.example.org")
	act, err := s.Mail("<a@example.org>", "")
	if err != nil {
		t.Fatal(err)
	}
	return act
}

// scrapeMetrics returns the text of an admin listener's /metrics.
func scrapeMetrics(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// wantMetrics checks that each line is in a /metrics text, and that none
// of the names in absent is.
func wantMetrics(t *testing.T, text string, lines, absent []string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(text, "\n"+l+"\n") {
			t.Errorf("/metrics lacks %q", l)
		}
	}
	for _, n := range absent {
		if strings.Contains(text, "\n"+n) {
			t.Errorf("/metrics has %s", n)
		}
	}
}

// TestMilterCommand: `sluice milter` serves the config's rules, keeps
// its rate limits in the config's state (here the data directory),
// journals its verdicts, and its listen.admin's /metrics counts them.
func TestMilterCommand(t *testing.T) {
	cfg := milterConfig(t, "{admin: 127.0.0.1:0}")
	in := &instance{cfg: cfg, log: slog.New(slog.DiscardHandler)}
	if err := in.startMilterAlone("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer func() { in.cancel(); in.milter.Close(); in.closeMilterAdmin(); in.closeState() }()
	if _, err := os.Stat(filepath.Join(cfg.Data, "state.db")); err != nil {
		t.Fatalf("no embedded state in the data directory: %v", err)
	}
	if act := milterMail(t, in.addrs[0]); act.StopProcessing() {
		t.Fatalf("first message: %+v", act)
	}
	if act := milterMail(t, in.addrs[0]); act.SMTPCode != 450 || !strings.Contains(act.SMTPReply, "Slow down, 192.0.2.9") {
		t.Fatalf("second message: %+v, want the rate limit's 450", act)
	}
	wantMetrics(t, scrapeMetrics(t, in.admin.Addr.String()), []string{
		`sluice_milter_sessions_total 2`,
		`sluice_milter_replies_total{action="tempfail"} 1`,
		`sluice_verdicts_total{action="tempfail",pipeline="inbound"} 1`,
		`sluice_rule_hits_total{pipeline="inbound",rule="per-ip"} 1`,
		`sluice_rules_last_reload_ok 1`,
	}, []string{"sluice_smtp_"})
	in.milter.Close()
	in.closeJournal()
	recs, err := journal.Find(journalDir(cfg), journal.Query{}, func(w string) { t.Error(w) })
	if err != nil || len(recs) != 1 || recs[0].Code != 450 || recs[0].Rules[0].Name != "per-ip" {
		t.Fatalf("journal: %v %+v, want the refusal recorded", err, recs)
	}
}

// TestServeMilterMetrics: listen.milter beside `sluice serve`'s listeners
// counts its verdicts in the server's rule metrics, with the milter's
// own counters, on the same /metrics.
func TestServeMilterMetrics(t *testing.T) {
	cfg := milterConfig(t, `{smtp: "127.0.0.1:0", milter: "127.0.0.1:0", admin: "127.0.0.1:0"}`)
	in, err := start(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer in.stop(5 * time.Second)
	e := &e2e{t: t, in: in}
	milterMail(t, e.bound("milter"))
	if act := milterMail(t, e.bound("milter")); act.SMTPCode != 450 {
		t.Fatalf("second message: %+v, want the rate limit's 450", act)
	}
	wantMetrics(t, scrapeMetrics(t, e.bound("admin")), []string{
		`sluice_milter_sessions_total 2`,
		`sluice_milter_replies_total{action="tempfail"} 1`,
		`sluice_verdicts_total{action="tempfail",pipeline="inbound"} 1`,
		`sluice_rule_hits_total{pipeline="inbound",rule="per-ip"} 1`,
		`sluice_smtp_sessions_total 0`,
	}, nil)
}

// TestMilterCLI: `sluice milter --config FILE --listen ADDR`, the program
// itself: it serves the config's rules on ADDR (the config names no
// milter listener) and exits 0 on SIGTERM.
func TestMilterCLI(t *testing.T) {
	cfg := milterConfig(t, "{}")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(sluiceBin(t), "milter", "--config", filepath.Join(filepath.Dir(cfg.Data), "sluice.yaml"), "--listen", addr)
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stdout.String(), "listening on "+addr) {
		if time.Now().After(deadline) {
			t.Fatalf("sluice milter did not start:\n%s\n%s", stdout.String(), stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	milterMail(t, addr)
	if act := milterMail(t, addr); act.SMTPCode != 450 || !strings.Contains(act.SMTPReply, "Slow down, 192.0.2.9") {
		t.Fatalf("second message: %+v, want the rate limit's 450", act)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("sluice milter on SIGTERM: %v\n%s", err, stderr.String())
	}
}
