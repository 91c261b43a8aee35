package main

import (
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	gosmtp "github.com/emersion/go-smtp"
)

// TestDiskHeadroomTmpfs runs the real binary with its data directory on
// a 16 MB tmpfs and limits.min_free 8MB: it takes mail, refuses it with
// 452 4.3.1 at MAIL once a ballast file leaves less than the floor, keeps
// IMAP readable, reports the state on /readyz and /metrics (while /healthz,
// the liveness probe, stays 200: restarting would not free space), and takes
// mail again when the ballast goes. Mounting needs root (this project's
// machines and CI run as root); the logic itself is also tested with a
// fake statfs in server/diskfree and server/smtp.
func TestDiskHeadroomTmpfs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	os.Mkdir(data, 0o700)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", data).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", data).Run() })
	os.WriteFile(filepath.Join(dir, "test.zone"), []byte("$ORIGIN .\n$TTL 300\n"), 0o644)
	conf := filepath.Join(dir, "sluice.yaml")
	os.WriteFile(conf, []byte(`hostname: mx.example.net
domains: [example.net]
data: data
listen: {smtp: "127.0.0.1:0", imaps: "127.0.0.1:0", admin: "127.0.0.1:0"}
dns: {zonefile: test.zone}
limits: {min_free: 8MB}
`), 0o644)
	if out, errOut, code := runIn(t, "password1\n", "user", "add", "--config", conf, "--password-stdin", "alice@example.net"); code != 0 {
		t.Fatalf("user add: %s %s", out, errOut)
	}
	cmd, stdout, stderr := startServeProcess(t, conf)
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if t.Failed() {
			t.Logf("server stderr:\n%s", stderr.String())
		}
	}()
	banner := readBanner(t, stdout)
	addr := func(kind string) string {
		m := regexp.MustCompile(`(?m)^\s+` + kind + `\s+(?:http://)?(127\.0\.0\.1:\d+)`).FindStringSubmatch(banner)
		if m == nil {
			t.Fatalf("no %s in banner:\n%s", kind, banner)
		}
		return m[1]
	}
	send := func(subject string) error {
		c, err := gosmtp.Dial(addr("smtp"))
		if err != nil {
			return err
		}
		defer c.Close()
		return c.SendMail("friend@example.org", []string{"alice@example.net"}, strings.NewReader(message("friend@example.org", "alice@example.net", subject)))
	}
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr("admin") + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	freeGauge := func() int64 {
		_, body := get("/metrics")
		m := regexp.MustCompile(`(?m)^sluice_data_free_bytes (\S+)$`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no sluice_data_free_bytes in /metrics:\n%s", body)
		}
		f, _ := strconv.ParseFloat(m[1], 64)
		return int64(f)
	}

	if err := send("before the ballast"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return countMail(data) == 1 }, "the first message in the Maildir")
	before := freeGauge()
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz %d with room", code)
	}

	ballast := filepath.Join(data, "ballast")
	if err := os.WriteFile(ballast, make([]byte, 10<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	// The server reads the free space at most once a second.
	waitFor(t, func() bool { code, _ := get("/readyz"); return code == 503 }, "/readyz to say 503")
	refused := send("while full")
	var se *gosmtp.SMTPError
	if !errors.As(refused, &se) || se.Code != 452 || se.EnhancedCode != (gosmtp.EnhancedCode{4, 3, 1}) {
		t.Fatalf("on a full disk: %v, want 452 4.3.1", refused)
	}
	low := freeGauge()
	if _, body := get("/readyz"); !strings.Contains(body, `"name": "disk"`) || !strings.Contains(body, "min_free") {
		t.Errorf("/readyz while full says %q", body)
	}
	if code, body := get("/healthz"); code != 200 {
		t.Errorf("/healthz while full: %d %q, want 200 (a liveness probe must not fail on disk)", code, body)
	}
	if !strings.Contains(stderr.String(), "low on space") {
		t.Error("no warning in the log")
	}
	// IMAP still reads the mail already delivered.
	im := dialLines(t, addr("imaps"), true)
	im.must(t, "", "* OK")
	im.must(t, "a1 LOGIN alice@example.net password1", "a1 OK")
	im.must(t, "a2 SELECT INBOX", "a2 OK")
	im.must(t, "a3 FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]", "Subject: before the ballast")
	im.must(t, "", "a3 OK")

	os.Remove(ballast)
	waitFor(t, func() bool { return send("after the ballast") == nil }, "mail accepted again")
	waitFor(t, func() bool { return countMail(data) == 2 }, "the second message in the Maildir")
	// The server logs the line before it answers MAIL, but its stderr
	// reaches the buffer through a pipe and a copying goroutine: wait.
	waitFor(t, func() bool { return strings.Contains(stderr.String(), "has room again") }, "the recovery line in the log")
	t.Logf("16 MB tmpfs, min_free 8MB: %d bytes free before the ballast, %d with it (refused, 452 4.3.1), accepted again after", before, low)
}

// countMail counts the messages in alice's INBOX.
func countMail(data string) int {
	n := 0
	for _, sub := range []string{"new", "cur"} {
		ents, _ := os.ReadDir(filepath.Join(data, "mail", "example.net", "alice", sub))
		n += len(ents)
	}
	return n
}
