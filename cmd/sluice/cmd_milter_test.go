package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gomilter "github.com/d--j/go-milter"
	"github.com/sluicemail/sluice/server/config"
	"github.com/sluicemail/sluice/server/journal"
)

// TestMilterCommand: `sluice milter` serves the config's rules and keeps
// its rate limits in the config's state (here the data directory).
func TestMilterCommand(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "rules"), 0o755)
	os.WriteFile(filepath.Join(dir, "rules", "inbound.yaml"), []byte(`pipeline: inbound
rules:
  - name: per-ip
    when: rate_exceeded("per-ip", conn.ip, "1/h")
    action: tempfail 450 4.7.1 "Slow down, {{ conn.ip }}"
`), 0o644)
	os.WriteFile(filepath.Join(dir, "sluice.yaml"), []byte("hostname: mx.example.net\ndomains: [example.net]\ndata: data\nrules: rules\ndns: {zonefile: empty.zone}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "empty.zone"), []byte("$ORIGIN .\n$TTL 300\n"), 0o644)
	cfg, err := config.Load(filepath.Join(dir, "sluice.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{cfg: cfg, log: slog.New(slog.DiscardHandler)}
	if err := in.startMilterAlone("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer func() { in.cancel(); in.milter.Close(); in.closeState() }()
	if _, err := os.Stat(filepath.Join(cfg.Data, "state.db")); err != nil {
		t.Fatalf("no embedded state in the data directory: %v", err)
	}
	mail := func() *gomilter.Action {
		c := gomilter.NewClient("tcp", in.addrs[0])
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
	if act := mail(); act.StopProcessing() {
		t.Fatalf("first message: %+v", act)
	}
	if act := mail(); act.SMTPCode != 450 || !strings.Contains(act.SMTPReply, "Slow down, 192.0.2.9") {
		t.Fatalf("second message: %+v, want the rate limit's 450", act)
	}
	in.milter.Close()
	in.closeJournal()
	recs, err := journal.Find(journalDir(cfg), journal.Query{}, func(w string) { t.Error(w) })
	if err != nil || len(recs) != 1 || recs[0].Code != 450 || recs[0].Rules[0].Name != "per-ip" {
		t.Fatalf("journal: %v %+v, want the refusal recorded", err, recs)
	}
}
