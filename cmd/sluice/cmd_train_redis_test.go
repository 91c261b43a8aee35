package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"

	"github.com/sluicemail/sluice/server/state/redistest"
)

// With --config naming a Redis, `sluice train` teaches the shared counts
// every node reads (not the node's file), and --stats reads them back.
func TestTrainConfigTrainsSharedCounts(t *testing.T) {
	mr := miniredis.RunT(t)
	spamDir, _, hamMbox := trainFixture(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "sluice.yaml")
	os.WriteFile(conf, fmt.Appendf(nil, "hostname: mx.example.net\ndomains: [example.net]\ndata: data\nstate: {redis: {addr: %q}}\n", mr.Addr()), 0o644)
	code, out, errOut := trainCmd(t, "--config", conf, "--spam", spamDir, "--ham", hamMbox)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "counts: on Redis") || !strings.Contains(out, "spam: 4 messages") {
		t.Errorf("output:\n%s", out)
	}
	if n := mr.HGet("sluice:bayes:{bayes.model}:totals", "spam"); n != "4" {
		t.Errorf("spam learnt on Redis: %q, want 4", n)
	}
	if n := mr.HGet("sluice:bayes:{bayes.model}:totals", "ham"); n != "3" {
		t.Errorf("ham learnt on Redis: %q, want 3", n)
	}
	// Another node's --stats, with its own data directory, sees them.
	conf2 := filepath.Join(t.TempDir(), "sluice.yaml")
	os.WriteFile(conf2, fmt.Appendf(nil, "hostname: mx2.example.net\ndomains: [example.net]\ndata: data\nstate: {redis: {addr: %q}}\n", mr.Addr()), 0o644)
	code, out, _ = trainCmd(t, "--config", conf2, "--stats")
	if code != 0 || !strings.Contains(out, "spam: 4 messages") || !strings.Contains(out, "ham:  3 messages") {
		t.Errorf("--stats on the other node, exit %d:\n%s", code, out)
	}
	// Redis gone: a clear error, not a hang or an empty model.
	mr.Close()
	code, _, errOut = trainCmd(t, "--config", conf2, "--spam", spamDir)
	if code == 0 || !strings.Contains(errOut, "redis") {
		t.Errorf("training with Redis down: exit %d, %q", code, errOut)
	}
}

// state.redis.tls reaches a redis-server that speaks only TLS, verified
// with ca_file for server_name: the config's TLS settings are wired.
func TestTrainConfigRedisTLS(t *testing.T) {
	srv := redistest.StartTLS(t)
	spamDir, _, hamMbox := trainFixture(t)
	conf := filepath.Join(t.TempDir(), "sluice.yaml")
	os.WriteFile(conf, fmt.Appendf(nil, "hostname: mx.example.net\ndomains: [example.net]\ndata: data\n"+
		"state: {redis: {addr: %q, tls: true, ca_file: %q, server_name: %s}}\n", srv.Addr, srv.CAFile, srv.ServerName), 0o644)
	code, out, errOut := trainCmd(t, "--config", conf, "--spam", spamDir, "--ham", hamMbox)
	if code != 0 || !strings.Contains(out, "counts: on Redis") || !strings.Contains(out, "spam: 4 messages") {
		t.Fatalf("exit %d: %s\n%s", code, out, errOut)
	}
}
