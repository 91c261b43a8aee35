package sieve

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The differential suite: every script of testdata/diff/scripts runs
// against every message of testdata/diff/messages both here and in
// Pigeonhole's own sieve-test (Debian's dovecot-sieve), and the printed
// actions must be the same text. The corpus is ours, written for this
// suite (see testdata/diff/README.md).

// diffRecipient is the envelope recipient of every run.
const diffRecipient = "bob+lists@example.com"

// sieveTest finds Pigeonhole's tester; in CI a missing one fails.
func sieveTest(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("sieve-test")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("sieve-test (Debian dovecot-sieve) is required in CI")
		}
		t.Skip("sieve-test not installed (apt-get install dovecot-sieve)")
	}
	return p
}

// pigeonhole runs sieve-test in a directory it may write its compiled
// scripts to, with a configuration that lets it run as any user.
type pigeonhole struct {
	bin, dir, conf string
}

func newPigeonhole(t *testing.T) *pigeonhole {
	t.Helper()
	bin := sieveTest(t)
	dir, err := os.MkdirTemp("", "sieve-diff-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// sieve-test drops privileges to mail_uid; root may not be it.
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	uid, gid := "nobody", "nogroup"
	if os.Getuid() != 0 {
		u, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		uid, gid = u.Username, u.Gid
	}
	conf := filepath.Join(dir, "dovecot.conf")
	text := "mail_location = maildir:" + filepath.Join(dir, "mail") + "\n" +
		"mail_uid = " + uid + "\nmail_gid = " + gid + "\nprotocols =\n" +
		"plugin {\n  sieve_extensions = +editheader +spamtest +spamtestplus\n" +
		// spamtest reads X-Spam-Score out of 15; the sluice side gets the
		// same certainty through Env.Spam (spamCertainty).
		"  sieve_spamtest_status_type = score\n  sieve_spamtest_status_header = X-Spam-Score\n" +
		"  sieve_spamtest_max_value = 15\n}\n"
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return &pigeonhole{bin: bin, dir: dir, conf: conf}
}

// outcome is what sieve-test made of one script and message.
type outcome int

const (
	ranOK         outcome = iota
	failedRunning         // ran, failed, fell back to the implicit keep
	refused               // did not compile
)

// run returns sieve-test's standard output (or, when it failed, its
// error output) and how it ended.
func (p *pigeonhole) run(t *testing.T, name string, script, msg []byte, from, to string) (string, outcome) {
	t.Helper()
	sp := filepath.Join(p.dir, name+".sieve")
	mp := filepath.Join(p.dir, name+".eml")
	for path, data := range map[string][]byte{sp: script, mp: msg} {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(p.bin, "-c", p.conf, "-f", from, "-r", to, "-a", to, sp, mp)
	cmd.Env = append(os.Environ(), "TZ=UTC") // the zone of date tests without :zone
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if strings.Contains(stderr.String(), "final result: failed; resolved with successful implicit keep") {
			return stderr.String(), failedRunning
		}
		return stderr.String(), refused
	}
	return stdout.String(), ranOK
}

func readDir(t *testing.T, dir, ext string) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*"+ext))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no %s files in %s", ext, dir)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(p), ext)] = data
	}
	return out
}

// envelopeFrom takes the sender from the Return-Path, as delivery would.
func envelopeFrom(m *Message) string {
	return strings.Trim(m.Header.Get("Return-Path"), "<> ")
}

// spamCertainty reads X-Spam-Score as Pigeonhole is configured to.
func spamCertainty(m *Message) *float64 {
	v, err := strconv.ParseFloat(strings.TrimSpace(m.Header.Get("X-Spam-Score")), 64)
	if err != nil {
		return nil
	}
	f := v / 15
	return &f
}

func TestDifferentialPigeonhole(t *testing.T) {
	ph := newPigeonhole(t)
	scripts := readDir(t, "testdata/diff/scripts", ".sieve")
	msgs := readDir(t, "testdata/diff/messages", ".eml")
	pairs, failed := 0, 0
	for sname, script := range scripts {
		compiled, err := Compile(string(script), Limits{})
		for mname, raw := range msgs {
			want, how := ph.run(t, sname+"-"+mname, script, raw, envelopeFrom(ParseMessage(raw)), diffRecipient)
			if how == refused {
				t.Errorf("%s: Pigeonhole refuses the script: %s", sname, want)
				continue
			}
			if err != nil {
				t.Errorf("%s: we refuse what Pigeonhole runs: %v", sname, err)
				break
			}
			msg := ParseMessage(raw)
			env := Env{Envelope: Envelope{From: envelopeFrom(msg), To: diffRecipient}, Msg: msg,
				Now: time.Now(), Zone: time.UTC, Spam: spamCertainty(msg)}
			res, err := compiled.Execute(env)
			var re *RuntimeError
			switch {
			case how == failedRunning && errors.As(err, &re):
				// Both failed while running and keep the message.
			case how == failedRunning:
				t.Errorf("%s × %s: Pigeonhole failed running (%s), we did not", sname, mname, strings.TrimSpace(want))
			case err != nil:
				t.Errorf("%s × %s: %v", sname, mname, err)
			default:
				if got := res.Print(); got != want {
					t.Errorf("%s × %s:\n--- sieve-test\n%s--- sluice\n%s(%q)", sname, mname, want, got, want)
				}
			}
			if how == failedRunning {
				failed++
			}
			pairs++
		}
	}
	t.Logf("%d scripts × %d messages: %d pairs compared (%d of them fail at run time in both)", len(scripts), len(msgs), pairs, failed)
}

// TestDifferentialInvalid: the scripts Pigeonhole refuses, we refuse,
// with a line and column.
func TestDifferentialInvalid(t *testing.T) {
	ph := newPigeonhole(t)
	msg := []byte("From: a@example.org\r\nSubject: x\r\n\r\nbody\r\n")
	for name, script := range readDir(t, "testdata/diff/invalid", ".sieve") {
		if out, how := ph.run(t, "invalid-"+name, script, msg, "a@example.org", diffRecipient); how != refused {
			t.Errorf("%s: Pigeonhole accepts it:\n%s", name, out)
		}
		_, err := Compile(string(script), Limits{})
		var e *Error
		if !errors.As(err, &e) || e.Pos.Line == 0 {
			t.Errorf("%s: want a compile error with a position, got %v", name, err)
		}
	}
}
