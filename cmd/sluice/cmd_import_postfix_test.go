package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/sluicemail/sluice/server/auth"
)

// TestImportPostfix reads a copy of /etc/postfix in real formats: the
// virtual_alias_maps hash table and /etc/aliases become aliases and a
// catch-all that deliver where Postfix delivered; the access maps,
// mynetworks and header and body checks become a rule file and rule
// tests that `sluice rules lint` and `sluice test` pass; relayhost and
// message_size_limit become config settings; the regexp alias table, a
// virtual alias domain line, lines without target, untranslatable table
// lines and settings are each named, and the exit status says it is
// incomplete.
func TestImportPostfix(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "sluice.yaml")
	os.WriteFile(conf, []byte("domains: [example.org, example.net]\ndata: data\n"), 0o644)
	accts, err := auth.Open(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob", "carol"} {
		if err := accts.AddUser(u+"@example.org", "password1"); err != nil {
			t.Fatal(err)
		}
	}
	src, _ := filepath.Abs("../../server/migrate/testdata/postfix")
	rulesOut := filepath.Join(dir, "postfix-rules")
	out, errOut, code := runIn(t, "", "import", "postfix", "--config", conf, "--rules-out", rulesOut, src)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"alias sales@example.org -> alice@example.org, bob@example.org (virtual:3)",
		"alias @example.net -> alice@example.org (virtual:6)", "alias postmaster@mail.example.org -> root@mail.example.org (aliases:2)",
		"rules: wrote " + rulesOut + "/00-postfix.yaml (20 lists, 30 rules)", "rules: 30 of 30 generated tests pass",
		"config: relay: {smarthost: {host: smtp.isp.example, port: 587}}", "config: limits: {message_size: 52428800}",
		"header_checks:8: /viagra/ REJECT: not translated", "sender_access:12: unknown.example FILTER smtp:[127.0.0.1]:10025: not translated",
		"main.cf:43: content_filter = smtp-amavis:[127.0.0.1]:10024: not translated"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	for _, want := range []string{"virtual_alias_maps regexp:/etc/postfix/virtual_regexp: not translated",
		"virtual:8: example.com: not translated (a virtual alias domain", "virtual:9: skipped: \"broken-line-without-target\" has no target",
		"aliases:8: script: not translated (target |/usr/local/bin/handler is a command", "aliases:9: skipped: not a \"name: value\" line"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	for rcpt, want := range map[string][]string{
		"team@example.org":            {"alice@example.org", "carol@example.org"},
		"info@example.org":            {"alice@example.org"},
		"anyone@example.net":          {"alice@example.org"},
		"forward@example.org":         {"someone@elsewhere.example"},
		"postmaster@mail.example.org": {"alice@example.org"},
	} {
		got, ok := accts.Resolve(rcpt)
		slices.Sort(got)
		if !ok || !slices.Equal(got, want) {
			t.Errorf("%s resolves to %v, want %v", rcpt, got, want)
		}
	}
	if out, errOut, code := runIn(t, "", "rules", "lint", rulesOut); code != 0 {
		t.Errorf("rules lint: exit %d\n%s\n%s", code, out, errOut)
	}
	if out, errOut, code := runIn(t, "", "test", rulesOut); code != 0 || !strings.Contains(out, "30 passed, 0 failed") {
		t.Errorf("sluice test: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, errOut, code := runIn(t, "", "import", "postfix", "--config", conf, "--rules-out", rulesOut, dir); code != 1 || !strings.Contains(errOut, "main.cf: no such file") {
		t.Errorf("no main.cf: exit %d %s", code, errOut)
	}
}

// TestImportPostfixServe runs the rules `sluice import postfix` wrote in
// the real server: a message whose Subject matches a header_checks
// REJECT is refused after DATA with that entry's text, a sender on the
// access map is refused at RCPT, and ordinary mail is accepted. The
// rules directory already has an accept-everything rule of the user's;
// the generated rules run before it without a rename.
func TestImportPostfixServe(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "etc-postfix")
	os.MkdirAll(src, 0o755)
	for name, text := range map[string]string{
		"main.cf": "# main.cf of the old server\nsmtpd_recipient_restrictions = permit_sasl_authenticated,\n" +
			"    check_sender_access hash:/etc/postfix/sender_access,\n    reject_unauth_destination\n" +
			"header_checks = regexp:/etc/postfix/header_checks\n",
		"sender_access": "# access(5)\nspammer@bad.example   REJECT Go away\n",
		"header_checks": "# header_checks(5)\n/^Subject:.*cheap (pills|watches)/   REJECT Spam is not welcome here\n",
	} {
		os.WriteFile(filepath.Join(src, name), []byte(text), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "test.zone"), []byte("$ORIGIN .\n$TTL 300\n"), 0o644)
	conf := filepath.Join(dir, "sluice.yaml")
	os.WriteFile(conf, []byte(`hostname: mx.example.org
domains: [example.org]
data: data
rules: rules
listen: {smtp: "127.0.0.1:0"}
dns: {zonefile: test.zone}
`), 0o644)
	accts, err := auth.Open(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	if err := accts.AddUser("alice@example.org", "password1"); err != nil {
		t.Fatal(err)
	}
	// The rules directory already holds the user's own rules, which
	// accept everything: the generated files are named to run first, so
	// the old server's refusals still apply (the generated tests, run by
	// the import on the whole directory, pass only if they do).
	os.MkdirAll(filepath.Join(dir, "rules"), 0o755)
	os.WriteFile(filepath.Join(dir, "rules", "inbound.yaml"), []byte("pipeline: inbound\nrules:\n"+
		"  - name: accept-everything\n    when: \"true\"\n    action: accept\n"), 0o644)
	if out, errOut, code := runIn(t, "", "import", "postfix", "--config", conf, "--rules-out", filepath.Join(dir, "rules"), src); code != 0 ||
		!strings.Contains(out, "rules: 2 of 2 generated tests pass") || !strings.Contains(out, "built in: main.cf:2: smtpd_recipient_restrictions: reject_unauth_destination") {
		t.Fatalf("import postfix: exit %d\n%s\n%s", code, out, errOut)
	}
	cmd, stdout, stderr := startServeProcess(t, conf)
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("server stderr:\n%s", stderr.String())
		}
	}()
	banner := readBanner(t, stdout)
	m := regexp.MustCompile(`smtp\s+(127\.0\.0\.1:\d+)`).FindStringSubmatch(banner)
	if m == nil {
		t.Fatalf("no smtp listener in banner:\n%s", banner)
	}
	send := func(from, subject string) error {
		c, err := gosmtp.Dial(m[1])
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Hello("mail.example.net"); err != nil {
			return err
		}
		if err := c.Mail(from, nil); err != nil {
			return err
		}
		if err := c.Rcpt("alice@example.org", nil); err != nil {
			return err
		}
		w, err := c.Data()
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "From: %s\r\nTo: alice@example.org\r\nSubject: %s\r\nDate: Mon, 16 Nov 2026 10:00:00 +0000\r\nMessage-ID: <%d@example.net>\r\n\r\nHello.\r\n", from, subject, len(subject))
		return w.Close()
	}
	err = send("someone@example.net", "Cheap watches for you")
	if se, ok := err.(*gosmtp.SMTPError); !ok || se.Code != 550 || se.Message != "Spam is not welcome here" {
		t.Errorf("header_checks REJECT: %v, want 550 Spam is not welcome here", err)
	}
	err = send("spammer@bad.example", "Hello")
	if se, ok := err.(*gosmtp.SMTPError); !ok || se.Code != 554 || se.Message != "Go away" {
		t.Errorf("sender_access REJECT: %v, want 554 Go away", err)
	}
	if err := send("someone@example.net", "Lunch on Friday?"); err != nil {
		t.Errorf("ordinary mail: %v", err)
	}
}
