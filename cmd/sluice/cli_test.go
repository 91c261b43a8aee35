package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// sluiceBin builds the real binary once; the CLI tests run it as a user
// would.
func sluiceBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sluice-cli")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "sluice")
		args := []string{"build", "-o", binPath}
		if raceBuild {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
		if err != nil {
			buildErr = err
			t.Logf("%s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	return binPath
}

// runSluice runs sluice with args from the repository root and returns stdout,
// stderr and the exit status.
func runSluice(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(sluiceBin(t), args...)
	cmd.Dir = "../.."
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

func TestCheckJSON(t *testing.T) {
	out, stderr, code := runSluice(t, "check", "--json", "--facts", "--dns", "examples/rules/testdata/zone.txt", "examples/messages")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines, want 4 messages and a summary:\n%s", len(lines), out)
	}
	actions := map[string]string{}
	for _, l := range lines[:4] {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		for _, k := range []string{"path", "action", "reply", "score", "rules", "facts"} {
			if _, ok := m[k]; !ok {
				t.Errorf("line lacks %q: %s", k, l)
			}
		}
		actions[filepath.Base(m["path"].(string))] = m["action"].(string)
		facts := m["facts"].(map[string]any)
		if _, ok := facts["spf"]; !ok {
			t.Errorf("facts lack spf: %v", facts)
		}
	}
	want := map[string]string{"plain.eml": "accept", "attachment.eml": "reject", "spam.eml": "reject", "spoofed.eml": "reject"}
	for k, v := range want {
		if actions[k] != v {
			t.Errorf("%s: %s, want %s", k, actions[k], v)
		}
	}
	var sum struct {
		Summary struct {
			Messages int            `json:"messages"`
			Actions  map[string]int `json:"actions"`
			Rules    map[string]int `json:"rules"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(lines[4]), &sum); err != nil || sum.Summary.Messages != 4 || sum.Summary.Actions["reject"] != 3 || sum.Summary.Rules["spf-fail"] != 2 {
		t.Errorf("summary %s (%v)", lines[4], err)
	}
}

// TestCheckSources dry-runs a Maildir, an mbox and a single file, with
// envelopes derived from the messages.
func TestCheckSources(t *testing.T) {
	dir := t.TempDir()
	plain, _ := os.ReadFile("../../examples/messages/plain.eml")
	spam, _ := os.ReadFile("../../examples/messages/spam.eml")
	md := filepath.Join(dir, "Maildir")
	for _, sub := range []string{"new", "cur", "tmp"} {
		os.MkdirAll(filepath.Join(md, sub), 0o755)
	}
	os.WriteFile(filepath.Join(md, "new", "1.x"), plain, 0o644)
	os.WriteFile(filepath.Join(md, "cur", "2.x:2,S"), spam, 0o644)
	mbox := filepath.Join(dir, "box.mbox")
	box := "From alice@example.net Mon Nov 16 09:12:03 2026\n" + strings.ReplaceAll(string(plain), "\r\n", "\n") +
		"\nFrom offers@deals.example.com Mon Nov 16 03:02:01 2026\n" + strings.ReplaceAll(string(spam), "\r\n", "\n")
	os.WriteFile(mbox, []byte(box), 0o644)
	single := filepath.Join(dir, "one.eml")
	os.WriteFile(single, spam, 0o644)

	out, stderr, code := runSluice(t, "check", "--json", "--facts", "--dns", "examples/rules/testdata/zone.txt", md, mbox, single)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d lines:\n%s", len(lines), out)
	}
	for i, wantIP := range []string{"192.0.2.25", "198.51.100.77", "192.0.2.25", "198.51.100.77", "198.51.100.77"} {
		var m struct {
			Path   string
			Action string
			Facts  struct {
				Conn     map[string]any
				Envelope map[string]any
			}
		}
		json.Unmarshal([]byte(lines[i]), &m)
		if m.Facts.Conn["ip"] != wantIP {
			t.Errorf("%s: derived ip %v, want %s", m.Path, m.Facts.Conn["ip"], wantIP)
		}
		if rcpt, _ := m.Facts.Envelope["rcpt"].([]any); len(rcpt) != 1 || rcpt[0] != "bob@example.org" {
			t.Errorf("%s: derived rcpt %v", m.Path, m.Facts.Envelope["rcpt"])
		}
	}
	if !strings.Contains(lines[2], `box.mbox#1`) {
		t.Errorf("mbox message path: %s", lines[2])
	}
}

func TestCheckAgainstAndSkips(t *testing.T) {
	newDir := t.TempDir()
	os.WriteFile(filepath.Join(newDir, "inbound.yaml"), []byte("pipeline: inbound\nrules:\n  - {name: shout, when: 'msg.subject matches \"^[A-Z0-9 $,]+$\"', action: junk}\n"), 0o644)
	oldDir := t.TempDir()
	os.WriteFile(filepath.Join(oldDir, "inbound.yaml"), []byte("pipeline: inbound\nrules:\n  - {name: none, when: 'false', action: junk}\n"), 0o644)
	empty := filepath.Join(t.TempDir(), "empty.eml")
	os.WriteFile(empty, nil, 0o644)
	out, stderr, code := runSluice(t, "check", "--rules", newDir, "--against", oldDir, "examples/messages", empty)
	if code != 1 || !strings.Contains(stderr, "empty.eml: skipped") {
		t.Fatalf("exit %d (want 1 for the skipped file), stderr %q", code, stderr)
	}
	if !strings.Contains(out, "spam.eml: accept -> junk") || strings.Contains(out, "plain.eml") || !strings.Contains(out, "1 change action against") {
		t.Errorf("against output:\n%s", out)
	}
}

func TestRuleTestCommand(t *testing.T) {
	out, _, code := runSluice(t, "test", "examples/rules")
	if code != 0 || !strings.Contains(out, " passed, 0 failed") {
		t.Fatalf("examples: exit %d\n%s", code, out)
	}
	// A deliberately wrong expectation fails with a clear diff.
	dir := t.TempDir()
	copyDir(t, "../../examples/rules", dir)
	copyDir(t, "../../examples/messages", filepath.Join(filepath.Dir(dir), "messages"))
	tests, _ := os.ReadFile(filepath.Join(dir, "inbound_test.yaml"))
	wrong := strings.Replace(string(tests), "expect: {action: accept, rules: [friend], score: -3}", "expect: {action: junk, rules: [friend], score: -3}", 1)
	os.WriteFile(filepath.Join(dir, "inbound_test.yaml"), []byte(wrong), 0o644)
	out, _, code = runSluice(t, "test", dir)
	if code != 1 || !strings.Contains(out, "FAIL") || !strings.Contains(out, "action: expected junk, got accept") || !strings.Contains(out, "rules fired: friend") || !strings.Contains(out, "1 failed") {
		t.Fatalf("wrong expectation: exit %d\n%s", code, out)
	}
}

func TestRulesLintAndEnv(t *testing.T) {
	out, _, code := runSluice(t, "rules", "lint", "examples/rules")
	if code != 0 || !strings.Contains(out, "ok:") {
		t.Fatalf("lint examples: exit %d\n%s", code, out)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "inbound.yaml"), []byte("pipeline: inbound\nrules:\n  - name: typo\n    when: msg.subjet == \"x\"\n    score: 1\n"), 0o644)
	out, _, code = runSluice(t, "rules", "lint", dir)
	want := filepath.Join(dir, "inbound.yaml") + `:4:15: rule "typo": type engine.MsgFacts has no field subjet`
	if code != 1 || !strings.Contains(out, want) {
		t.Fatalf("lint: exit %d, output %q, want %q", code, out, want)
	}
	out, _, code = runSluice(t, "rules", "env")
	if code != 0 || !strings.Contains(out, "dnsbl.listed_in") || !strings.Contains(out, "in_list") {
		t.Fatalf("env: %d\n%s", code, out)
	}
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCheckParallelKeepsOrder checks many messages at once and still
// reports them in walk order, skipped files included, exactly as one at a
// time does.
func TestCheckParallelKeepsOrder(t *testing.T) {
	dir := t.TempDir()
	plain, _ := os.ReadFile("../../examples/messages/plain.eml")
	spam, _ := os.ReadFile("../../examples/messages/spam.eml")
	for i := range 60 {
		raw := plain
		if i%3 == 0 {
			raw = spam
		}
		if i%17 == 5 {
			raw = nil // an empty file: skipped, in its place
		}
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("%03d.eml", i)), raw, 0o644)
	}
	serial, _, code1 := runSluice(t, "check", "--json", "-j", "1", "--dns", "examples/rules/testdata/zone.txt", dir)
	parallel, _, code8 := runSluice(t, "check", "--json", "-j", "8", "--dns", "examples/rules/testdata/zone.txt", dir)
	if code1 != 1 || code8 != 1 {
		t.Fatalf("exit %d and %d, want 1 (files were skipped)", code1, code8)
	}
	if serial != parallel {
		t.Fatalf("-j 8 differs from -j 1:\n%s\n---\n%s", parallel, serial)
	}
	lines := strings.Split(strings.TrimSpace(parallel), "\n")
	if len(lines) != 61 {
		t.Fatalf("%d lines, want 60 and a summary", len(lines))
	}
	for i, l := range lines[:60] {
		if want := fmt.Sprintf("%03d.eml", i); !strings.Contains(l, want) {
			t.Fatalf("line %d is not %s: %s", i, want, l)
		}
		if skipped := strings.Contains(l, `"skipped"`); skipped != (i%17 == 5) {
			t.Errorf("line %d skipped=%v: %s", i, skipped, l)
		}
	}
	if _, stderr, code := runSluice(t, "check", "-j", "0", dir); code != 2 || !strings.Contains(stderr, "-j 0") {
		t.Errorf("-j 0: exit %d, %q", code, stderr)
	}
}

// designExample is the rule file DESIGN.md shows as the shape of a rule
// file (copied here: the design lives outside the repository).
const designExample = `pipeline: inbound
stages:
  dnsbl:
    zones:
      - {zone: zen.example-bl.org, codes: {127.0.0.2: sbl, 127.0.0.4: xbl}}
  bayes: {min_tokens: 20}
rules:
  - name: no-fcrdns
    when: not auth.authenticated and not rdns.fcrdns
    score: 2.5
  - name: blocklisted
    when: dnsbl.listed
    action: reject 554 5.7.1 "Listed at {{ dnsbl.hits[0].zone }}"
  - name: dmarc-reject
    when: dmarc.result == "fail" and dmarc.policy == "reject"
    action: reject 550 5.7.1 "DMARC policy of the sender domain"
  - name: spammy
    when: bayes.spam >= 0.95 or score >= 6
    action: junk
    headers: {X-Spam-Flag: "YES"}
`

// TestDocumentedRuleShapesLoad lints the rule files the documentation
// shows: the README's and the design's. A reader copies them first.
func TestDocumentedRuleShapesLoad(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "```yaml\npipeline: inbound\n")
	snippet, _, closed := strings.Cut(rest, "```")
	if !ok || !closed {
		t.Fatal("README has no ```yaml block starting with pipeline: inbound")
	}
	for name, text := range map[string]string{"README": "pipeline: inbound\n" + snippet, "DESIGN": designExample} {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "lists"), 0o755)
		os.WriteFile(filepath.Join(dir, "lists", "blocked.txt"), []byte("# none yet\nspam.example\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "inbound.yaml"), []byte(text), 0o644)
		if out, stderr, code := runSluice(t, "rules", "lint", dir); code != 0 {
			t.Errorf("the %s rule file does not lint (exit %d): %s%s", name, code, out, stderr)
		}
	}
}
