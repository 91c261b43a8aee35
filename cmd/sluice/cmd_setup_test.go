package main

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicemail/sluice/server/config"
)

// A new user's first hour on loopback: sluice setup, then sluice serve
// on its config, then sluice doctor against a zone made of the records
// setup printed. Every line not ok is one this test names and explains.
func TestSetupServeDoctor(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mail")
	setup := []string{"setup", "--domain", "example.test", "--hostname", "mx.example.test", "--ip", "127.0.0.1", "--dir", dir}
	records, errOut, code := runSluice(t, setup...)
	if code != 0 {
		t.Fatalf("setup: %d %s", code, errOut)
	}
	pw := regexp.MustCompile(`postmaster@example.test with the password (\S+)`).FindStringSubmatch(errOut)
	if pw == nil {
		t.Fatalf("no password in:\n%s", errOut)
	}
	for _, f := range []string{"sluice.yaml", "sluice.service", "data"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	keys, _ := filepath.Glob(filepath.Join(dir, "dkim", "*.pem"))
	if len(keys) != 2 || !strings.Contains(records, "k=rsa") || !strings.Contains(records, "k=ed25519") {
		t.Errorf("keys %v, records:\n%s", keys, records)
	}
	unit, _ := os.ReadFile(filepath.Join(dir, "sluice.service"))
	for _, want := range []string{"Type=notify", "AmbientCapabilities=CAP_NET_BIND_SERVICE", "ProtectSystem=strict", "ReadWritePaths=" + dir + "/data", "NoNewPrivileges=yes", "User=sluice"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("unit lacks %s", want)
		}
	}
	// Idempotent: a second run changes nothing and says so.
	before, _ := os.ReadFile(filepath.Join(dir, "sluice.yaml"))
	again, errOut2, code := runSluice(t, setup...)
	after, _ := os.ReadFile(filepath.Join(dir, "sluice.yaml"))
	if code != 0 || !strings.Contains(errOut2, "nothing changed") || string(before) != string(after) || again != records {
		t.Errorf("second run: %d %q; config or records changed: %v", code, errOut2, string(before) != string(after) || again != records)
	}
	if _, errOut3, code := runSluice(t, append(setup, "--force")...); code != 0 || !strings.Contains(errOut3, "wrote "+dir+"/sluice.yaml") {
		t.Errorf("--force: %d %s", code, errOut3)
	}

	conf := loopbackConfig(t, dir, records)
	stop := serveBinary(t, conf)
	defer stop()
	imapsLogin(t, conf, pw[1])

	out, errOut, code := runSluice(t, "doctor", "--config", conf)
	t.Logf("doctor:\n%s", out)
	if code != 2 {
		t.Errorf("doctor exit %d, want 2 (the self-signed certificate fails); stderr %s", code, errOut)
	}
	// What a loopback test cannot have, and why each is not ok.
	explained := map[string]string{
		"warn address mx.example.test": "127.0.0.1 is not a public address",
		"fail certificate":             "self-signed: without tls.acme (no ACME server here)",
		"fail mta-sts example.test":    "the policy host's certificate is that self-signed one",
		"warn outbound-25 gmail.com":   "the zone file has no MX for gmail.com (no Internet here)",
	}
	var notOK []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(line, "ok ") {
			continue
		}
		head := strings.SplitN(line, ":", 2)[0]
		found := false
		for prefix := range explained {
			if strings.HasPrefix(head, prefix) {
				found = true
				notOK = append(notOK, prefix)
			}
		}
		if !found {
			t.Errorf("unexplained: %s", line)
		}
	}
	sort.Strings(notOK)
	if len(notOK) != len(explained) {
		t.Errorf("not-ok lines %v, want one each of %v", notOK, explained)
	}
	for _, check := range []string{"ok   mx example.test", "ok   ptr 127.0.0.1", "ok   spf example.test 127.0.0.1", "ok   dkim r",
		"ok   dkim e", "ok   dmarc", "ok   tls-rpt", "ok   srv", "ok   listeners smtp", "ok   open-relay", "ok   dnsbl"} {
		if !strings.Contains(out, check) {
			t.Errorf("no %q line", check)
		}
	}
	jsonOut, _, _ := runSluice(t, "doctor", "--config", conf, "--json")
	var rs []struct{ Check, Status, Detail, Fix string }
	if err := json.Unmarshal([]byte(jsonOut), &rs); err != nil || len(rs) != len(strings.Split(strings.TrimSpace(out), "\n")) {
		t.Errorf("--json: %v, %d results", err, len(rs))
	}
}

// loopbackConfig rewrites setup's config for this machine: listeners on
// free loopback ports, no ACME (there is no CA to reach), DNS from a zone
// made of setup's records. It returns the config path.
func loopbackConfig(t *testing.T, dir, records string) string {
	t.Helper()
	p := filepath.Join(dir, "sluice.yaml")
	b, _ := os.ReadFile(p)
	text := string(b)
	for _, port := range []string{"25", "587", "465", "143", "993", "80", "443"} {
		text = strings.Replace(text, `"[::]:`+port+`"`, fmt.Sprintf(`"127.0.0.1:%d"`, freePort(t)), 1)
	}
	text = strings.Replace(text, "admin: 127.0.0.1:8025", fmt.Sprintf("admin: 127.0.0.1:%d", freePort(t)), 1)
	text = strings.Replace(text, "tls:\n  acme:\n    email: postmaster@example.test\n", "", 1)
	text = strings.Replace(text, "# dns:\n", "dns: {zonefile: test.zone}\n", 1)
	os.WriteFile(p, []byte(text), 0o600)
	os.WriteFile(filepath.Join(dir, "test.zone"), []byte(records), 0o644)
	if _, err := config.Load(p); err != nil {
		t.Fatalf("rewritten config: %v\n%s", err, text)
	}
	return p
}

// serveBinary runs sluice serve --config conf until the returned stop.
// The listeners' ports were picked free a moment before the server binds
// them; when another process (another test package) took one meanwhile,
// the server cannot bind it and is started again on ports picked anew.
func serveBinary(t *testing.T, conf string) func() {
	t.Helper()
	for attempt := 1; ; attempt++ {
		cmd, stdout, stderr := startServeProcess(t, conf)
		banner := readBanner(t, stdout)
		if !strings.Contains(banner, "imaps") {
			// readBanner returned at the end of the output: it exited.
			cmd.Wait()
			if strings.Contains(stderr.String(), "address already in use") && attempt < 3 {
				t.Logf("attempt %d: %s; picking the ports again", attempt, strings.TrimSpace(stderr.String()))
				repickPorts(t, conf)
				continue
			}
		}
		if !strings.Contains(banner, "http") || !strings.Contains(banner, "imaps") {
			t.Errorf("banner:\n%s", banner)
		}
		return func() {
			cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
			}
			if t.Failed() {
				t.Logf("server stderr:\n%s", stderr.String())
			}
		}
	}
}

// repickPorts gives every loopback listener in conf a port picked anew.
func repickPorts(t *testing.T, conf string) {
	t.Helper()
	b, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	listener := regexp.MustCompile(`(?m)^(\s+[a-z]+: "?127\.0\.0\.1:)\d+`)
	text := listener.ReplaceAllStringFunc(string(b), func(m string) string {
		return m[:strings.LastIndexByte(m, ':')+1] + strconv.Itoa(freePort(t))
	})
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// imapsLogin logs in as the account setup made, with its password.
func imapsLogin(t *testing.T, conf, password string) {
	t.Helper()
	cfg, err := config.Load(conf)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.Dial("tcp", cfg.Listen.IMAPS, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	c.Read(buf)
	fmt.Fprintf(c, "a1 LOGIN postmaster@example.test %s\r\n", password)
	var got string
	for !strings.Contains(got, "a1 ") {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("login: %q %v", got, err)
		}
		got += string(buf[:n])
	}
	if !strings.Contains(got, "a1 OK") {
		t.Errorf("login as postmaster: %q", got)
	}
}
