package imap

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sluicemail/sluice/server/auth"
	"github.com/sluicemail/sluice/server/store"
)

// TestImaptestStress runs imaptest's stress mode (10 clients, its random
// command mix, one mailbox) for IMAPTEST_STRESS seconds and fails on any
// protocol error imaptest reports (MODSEQ dropped, keyword used without
// FLAGS, ...) and on any warning the server logs (a NO [SERVERBUG] logs
// one). It is skipped without IMAPTEST_STRESS: what it finds depends on
// timing, so the regressions it found have forced tests of their own
// (overtaken_test.go, server/store's adopting_test.go); this is for
// looking for more. bench/imap runs the same against a corpus.
func TestImaptestStress(t *testing.T) {
	secs, _ := strconv.Atoi(os.Getenv("IMAPTEST_STRESS"))
	if secs <= 0 {
		t.Skip("IMAPTEST_STRESS=<seconds> runs imaptest's stress mode")
	}
	bin := filepath.Join(imaptestDir(), "imaptest")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("imaptest not built at %s (see .ci/run): %v", bin, err)
	}
	auth.HashCost = bcrypt.MinCost
	data := t.TempDir()
	accts, err := auth.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := accts.AddUser("stress@example.org", "stress-pass"); err != nil {
		t.Fatal(err)
	}
	logs := &warnings{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ts := startServer(t, data, accts, Options{MaxLoginFailures: 1000, Logger: log}, store.Options{Logger: log})

	mbox := filepath.Join(t.TempDir(), "source.mbox")
	if err := os.WriteFile(mbox, stressMbox(200), 0o600); err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(ts.tls, ":")
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs+60)*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "host="+host, "port="+port, "ssl=any-cert",
		"user=stress@example.org", "pass=stress-pass", "mbox="+mbox, "clients=10", "secs="+strconv.Itoa(secs))
	cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH=/usr/lib/dovecot")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("imaptest: %v", err)
	}
	errs := regexp.MustCompile(`(?m)^Error: .*$`).FindAllString(string(out), -1)
	for _, e := range errs {
		t.Error(e)
	}
	for _, w := range logs.lines() {
		t.Errorf("server: %s", w)
	}
	if _, totals, ok := strings.Cut(string(out), "Totals:"); ok {
		t.Logf("imaptest totals:%s", totals)
	} else {
		t.Errorf("no totals in imaptest's output:\n%s", out)
	}
}

// stressMbox is an mbox of n small messages for imaptest to APPEND.
func stressMbox(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "From stress@example.org Thu Aug  1 00:00:00 2002\n"+
			"From: sender%d@example.org\nTo: stress@example.org\nSubject: message %d\n"+
			"Message-ID: <%d@stress.example.org>\nDate: Thu, 1 Aug 2002 00:00:%02d +0000\n\n"+
			"Body of message %d.\n%s\n\n", i%7, i, i, i%60, i, strings.Repeat("line\n", i%20))
	}
	return b.Bytes()
}

// warnings collects the lines a logger writes.
type warnings struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *warnings) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *warnings) lines() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.FieldsFunc(w.buf.String(), func(r rune) bool { return r == '\n' })
}
