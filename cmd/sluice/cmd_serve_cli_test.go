package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/sluicemail/sluice/server/auth"
)

// runIn runs the sluice binary with stdin and returns stdout, stderr and
// the exit status.
func runIn(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(sluiceBin(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return stdout.String(), stderr.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), 0
}

func TestUserCommand(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "sluice.yaml")
	os.WriteFile(conf, []byte("domains: [example.net]\ndata: data\nquota: 1MB\n"), 0o644)
	steps := []struct {
		stdin string
		args  []string
		code  int
		out   string
	}{
		{"password1\n", []string{"user", "add", "--config", conf, "--password-stdin", "Alice@Example.NET"}, 0, "added alice@example.net"},
		{"password1\n", []string{"user", "add", "--config", conf, "--password-stdin", "alice@example.net"}, 1, "already exists"},
		{"short\n", []string{"user", "add", "--config", conf, "--password-stdin", "bob@example.net"}, 1, "too short"},
		{"password2\n", []string{"user", "passwd", "--config", conf, "--password-stdin", "nobody@example.net"}, 1, "no such user"},
		{"password2\n", []string{"user", "passwd", "--config", conf, "--password-stdin", "alice@example.net"}, 0, "password changed"},
		{"", []string{"user", "alias", "--config", conf, "info@example.net", "alice@example.net"}, 0, "info@example.net -> alice@example.net"},
		{"", []string{"user", "alias", "--config", conf, "@example.net", "alice@example.net"}, 0, "@example.net"},
		{"", []string{"user", "list", "--config", conf}, 0, "alice@example.net  0 B of 1.0 MB (0%)  @example.net, info@example.net"},
		{"", []string{"user", "list", "--config", conf}, 0, "catch-all @example.net -> alice@example.net"},
		{"", []string{"user", "add", "--config", conf, "carol@example.net"}, 1, "not a terminal"},
		{"password1\n", []string{"user", "add", "--admin", "--config", conf, "--password-stdin", "root@example.net"}, 0, "added root@example.net"},
		{"", []string{"user", "admin", "--config", conf, "root@example.net", "off"}, 0, "console access off for root@example.net"},
		{"", []string{"user", "admin", "--config", conf, "alice@example.net", "on"}, 0, "console access on for alice@example.net"},
		{"", []string{"user", "admin", "--config", conf, "nobody@example.net", "on"}, 1, "no such user"},
		{"", []string{"user", "admin", "--config", conf, "alice@example.net", "maybe"}, 2, "usage"},
		{"", []string{"admin", "token", "--config", conf}, 0, "sluice_"},
		{"", []string{"admin", "frobnicate"}, 2, "usage"},
		{"", []string{"user", "unalias", "--config", conf, "info@example.net"}, 0, "removed alias"},
		{"", []string{"user", "del", "--config", conf, "alice@example.net"}, 0, "deleted alice@example.net"},
		{"", []string{"user", "frobnicate"}, 2, "usage"},
	}
	for _, s := range steps {
		out, errOut, code := runIn(t, s.stdin, s.args...)
		if code != s.code || !strings.Contains(out+errOut, s.out) {
			t.Errorf("sluice %s: exit %d, output %q %q; want %d and %q", strings.Join(s.args, " "), code, out, errOut, s.code, s.out)
		}
		if s.args[0] == "admin" && code == 0 && !auth.CheckAdminToken(filepath.Join(dir, "data"), strings.TrimSpace(out)) {
			t.Errorf("the printed token %q is not accepted", out)
		}
	}
	accounts, err := auth.Open(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	if accounts.IsAdmin("root@example.net") || accounts.IsAdmin("alice@example.net") {
		t.Error("admin flags: root's was turned off, alice was deleted")
	}
}

// TestServeBinary runs `sluice serve --config` as a user would: the banner
// names the listeners, a user added by the CLI receives mail, `sluice
// reload` reaches the server (SIGHUP through the pid file, as this config
// has no fixed admin port), and SIGTERM stops it cleanly.
func TestServeBinary(t *testing.T) {
	dir := t.TempDir()
	// An empty zone: every name is NXDOMAIN. (The example rule test "a DNS
	// failure is no excuse..." has no DNS fixture of its own and runs
	// with the server's resolver at every load.)
	os.WriteFile(filepath.Join(dir, "test.zone"), []byte("$ORIGIN .\n$TTL 300\n"), 0o644)
	conf := filepath.Join(dir, "sluice.yaml")
	os.WriteFile(conf, []byte(`hostname: mx.example.net
domains: [example.net]
data: data
listen: {smtp: "127.0.0.1:0", submission: "127.0.0.1:0", admin: "127.0.0.1:0"}
dns: {zonefile: test.zone}
`), 0o644)
	if out, errOut, code := runIn(t, "password1\n", "user", "add", "--config", conf, "--password-stdin", "alice@example.net"); code != 0 {
		t.Fatalf("user add: %s %s", out, errOut)
	}
	cmd, stdout, stderr := startServeProcess(t, conf)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("server stderr:\n%s", stderr.String())
		}
	}()
	banner := readBanner(t, stdout)
	m := regexp.MustCompile(`smtp\s+(127\.0\.0\.1:\d+)`).FindStringSubmatch(banner)
	if m == nil || !strings.Contains(banner, "1 users") || !strings.Contains(banner, "self-signed") {
		t.Fatalf("banner:\n%s", banner)
	}
	// The example rules were written into the data directory.
	if _, err := os.Stat(filepath.Join(dir, "data", "rules", "inbound.yaml")); err != nil {
		t.Errorf("example rules not written: %v", err)
	}
	c, err := gosmtp.Dial(m[1])
	if err != nil {
		t.Fatal(err)
	}
	err = c.SendMail("friend@example.org", []string{"alice@example.net"}, strings.NewReader(message("friend@example.org", "alice@example.net", "via the binary")))
	c.Close()
	if err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := runIn(t, "", "reload", "--config", conf); code != 0 || !strings.Contains(out, "SIGHUP") {
		t.Errorf("reload: %d %q %q", code, out, errOut)
	}
	waitFor(t, func() bool { return strings.Contains(stderr.String(), "rules reloaded") }, "the reload in the server log")
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("server did not stop after SIGTERM")
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "sluice.pid")); !os.IsNotExist(err) {
		t.Errorf("pid file left: %v", err)
	}
	// The accepted message is in the Maildir.
	files, _ := filepath.Glob(filepath.Join(dir, "data", "mail", "example.net", "alice", "new", "*"))
	if len(files) != 1 {
		t.Errorf("%d messages in alice's INBOX, want 1", len(files))
	}
}

// startServeProcess starts the built binary's sluice serve on conf, with env
// added to the environment; stdout is for readBanner, stderr is kept.
func startServeProcess(t *testing.T, conf string, env ...string) (*exec.Cmd, io.ReadCloser, *lockedBuffer) {
	t.Helper()
	cmd := exec.Command(sluiceBin(t), "serve", "--config", conf)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, stdout, stderr
}

func readBanner(t *testing.T, r interface{ Read([]byte) (int, error) }) string {
	t.Helper()
	var b strings.Builder
	sc := bufio.NewScanner(r)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
			if strings.HasPrefix(sc.Text(), "Reload the rules") {
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("no banner")
	}
	return b.String()
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
