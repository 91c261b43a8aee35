package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicemail/sluice/server/queue"
	"github.com/sluicemail/sluice/server/store"
)

func run(t *testing.T, f func([]string, *bytes.Buffer, *bytes.Buffer) int, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := f(args, &out, &errb)
	return code, out.String(), errb.String()
}

func queueCmd(args []string, o, e *bytes.Buffer) int      { return runQueue(args, o, e) }
func quarantineCmd(args []string, o, e *bytes.Buffer) int { return runQuarantine(args, o, e) }

func TestQueueCommand(t *testing.T) {
	data := t.TempDir()
	q, err := queue.Open(queue.Dir(data), queue.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, to := range []string{"one@remote.test", "two@remote.test"} {
		id, err := q.Put(context.Background(), queue.Envelope{From: "a@local.test", Rcpt: []queue.Recipient{{Addr: to}}}, []byte("Subject: x\r\n\r\nx\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	// While a server holds the spool, list reads it and the rest refuse.
	if code, out, errs := run(t, queueCmd, "list", "--data", data); code != 0 || !strings.Contains(out, ids[1]) || !strings.Contains(errs, "read-only") {
		t.Fatalf("list with the spool in use: %d %q %q", code, out, errs)
	}
	if code, _, errs := run(t, queueCmd, "delete", ids[0], "--data", data); code != 1 || !strings.Contains(errs, "stop the server") {
		t.Fatalf("delete with the spool in use: %d %q", code, errs)
	}
	q.Close()

	code, out, _ := run(t, queueCmd, "list", "--data", data)
	if code != 0 || !strings.Contains(out, ids[0]) || !strings.Contains(out, "two@remote.test") || !strings.Contains(out, "2 message(s)") {
		t.Fatalf("list: %d %q", code, out)
	}
	if code, out, errs := run(t, queueCmd, "delete", ids[0], "--data", data); code != 0 || !strings.Contains(out, "deleted") {
		t.Fatalf("delete: %d %q %q", code, out, errs)
	}
	if code, _, _ := run(t, queueCmd, "retry", ids[1], "--data", data); code != 0 {
		t.Fatal("retry failed")
	}
	if code, out, _ := run(t, queueCmd, "retry", "all", "--data", data); code != 0 || !strings.Contains(out, ids[1]+": will be retried") {
		t.Fatalf("retry all: %d %q", code, out)
	}
	if code, _, errs := run(t, queueCmd, "retry", "ffff", "--data", data); code != 1 || !strings.Contains(errs, "no such message") {
		t.Fatalf("retry of an unknown id: %d %q", code, errs)
	}
	code, out, _ = run(t, queueCmd, "list", "--data", data)
	if code != 0 || strings.Contains(out, ids[0]) || !strings.Contains(out, ids[1]) {
		t.Fatalf("list after delete: %q", out)
	}
	if code, _, _ := run(t, queueCmd, "frobnicate"); code != 2 {
		t.Fatal("unknown subcommand accepted")
	}
}

func TestQuarantineCommand(t *testing.T) {
	data := t.TempDir()
	st, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	runQueueUntil := func(cond func(q *queue.Queue) bool) {
		t.Helper()
		q, err := queue.Open(queue.Dir(data), queue.Options{Deliverer: st, ScanInterval: 5 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { q.Run(ctx); close(done) }()
		deadline := time.Now().Add(20 * time.Second)
		for !cond(q) {
			if time.Now().After(deadline) {
				t.Fatal("timed out")
			}
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		<-done
		q.Close()
	}
	raw := "Subject: suspicious\r\n\r\nbuy now\r\n"
	var ids []string
	runQueueUntil(func(q *queue.Queue) bool {
		for len(ids) < 2 {
			id, err := q.Put(context.Background(), queue.Envelope{From: "spammer@remote.test", Quarantine: true, Reason: "rule phishy",
				Rcpt: []queue.Recipient{{Addr: "u@local.test", Local: true, User: "u@local.test"}}}, []byte(raw))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		return len(q.List()) == 0
	})
	code, out, _ := run(t, quarantineCmd, "list", "--data", data)
	if code != 0 || !strings.Contains(out, ids[0]) || !strings.Contains(out, "rule phishy") || !strings.Contains(out, "2 message(s)") {
		t.Fatalf("list: %d %q", code, out)
	}
	if code, out, _ := run(t, quarantineCmd, "show", ids[0], "--data", data); code != 0 || out != raw {
		t.Fatalf("show: %d %q", code, out)
	}
	if code, out, errs := run(t, quarantineCmd, "release", ids[0], "--data", data); code != 0 || !strings.Contains(out, "released") {
		t.Fatalf("release: %d %q %q", code, out, errs)
	}
	if code, _, _ := run(t, quarantineCmd, "delete", ids[1], "--data", data); code != 0 {
		t.Fatal("delete failed")
	}
	if code, _, _ := run(t, quarantineCmd, "show", "../../etc/passwd", "--data", data); code != 1 {
		t.Fatal("a path was accepted as an id")
	}
	if _, out, _ := run(t, quarantineCmd, "list", "--data", data); !strings.Contains(out, "empty") {
		t.Fatalf("list after release and delete: %q", out)
	}
	runQueueUntil(func(q *queue.Queue) bool { return len(q.List()) == 0 })
	files, _ := filepath.Glob(filepath.Join(data, "mail", "local.test", "u", "new", "*"))
	if len(files) != 1 {
		t.Fatalf("u has %d messages, want the released one", len(files))
	}
	b, _ := os.ReadFile(files[0])
	if !strings.HasSuffix(string(b), raw) {
		t.Fatalf("delivered %q", b)
	}
}

// TestQueueCommandThroughAdmin: with the server running (spool locked),
// the commands go through its admin listener when they know it, and fall
// back to a read-only look when the listener lacks the queue endpoints.
func TestQueueCommandThroughAdmin(t *testing.T) {
	data := t.TempDir()
	q, err := queue.Open(queue.Dir(data), queue.Options{Retry: []time.Duration{time.Hour}, ScanInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { q.Run(ctx); close(done) }()
	defer func() { cancel(); <-done; q.Close() }()
	var ids []string
	for _, to := range []string{"one@remote.test", "two@remote.test"} {
		id, err := q.Put(context.Background(), queue.Envelope{From: "a@local.test", Rcpt: []queue.Recipient{{Addr: to}}}, []byte("Subject: x\r\n\r\nx\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	// No relay is configured: both are deferred for an hour.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if l := q.List(); len(l) == 2 && l[0].Attempts == 1 && l[1].Attempts == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("messages not deferred")
		}
	}
	srv := httptest.NewServer(queue.Handler(q))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")

	if code, out, errs := run(t, queueCmd, "delete", ids[0], "--data", data, "--admin", addr); code != 0 || !strings.Contains(out, "deleted") {
		t.Fatalf("delete through admin: %d %q %q", code, out, errs)
	}
	if code, out, _ := run(t, queueCmd, "list", "--data", data, "--admin", addr); code != 0 || strings.Contains(out, ids[0]) || !strings.Contains(out, "no relay configured") {
		t.Fatalf("list through admin: %d %q", code, out)
	}
	if len(q.List()) != 1 {
		t.Fatal("the running queue did not delete the message")
	}
	if code, out, _ := run(t, queueCmd, "retry", "all", "--data", data, "--admin", addr); code != 0 || !strings.Contains(out, ids[1]+": will be retried") {
		t.Fatalf("retry all through admin: %d %q", code, out)
	}
	if code, _, errs := run(t, quarantineCmd, "release", "0123", "--data", data, "--admin", addr); code != 1 || !strings.Contains(errs, "no such message") {
		t.Fatalf("release of an unknown id: %d %q", code, errs)
	}
	old := httptest.NewServer(http.NotFoundHandler())
	defer old.Close()
	code, out, errs := run(t, queueCmd, "list", "--data", data, "--admin", old.URL)
	if code != 0 || !strings.Contains(out, ids[1]) || !strings.Contains(errs, "read-only") {
		t.Fatalf("fallback to the spool: %d %q %q", code, out, errs)
	}
}
