package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `rules lint --config` runs the relay-safety proof with the server's
// local domains and redirects_allowed, and says what it proved; a rule
// that could relay for an unauthenticated sender is refused with its
// position.
func TestLintRelayProof(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(text), 0o644)
		return p
	}
	conf := write("sluice.yaml", "hostname: mx.example.net\ndomains: [example.net]\ndata: data\nredirects_allowed: [desk@partner.example]\n")
	write("safe/inbound.yaml", "pipeline: inbound\nrules:\n  - name: to-bob\n    when: msg.subject contains \"x\"\n    action: redirect bob@example.net\n  - name: to-desk\n    when: msg.subject contains \"y\"\n    action: redirect desk@partner.example\n")
	write("unsafe/inbound.yaml", "pipeline: inbound\nrules:\n  - name: out\n    when: msg.subject contains \"x\"\n    action: redirect someone@elsewhere.example\n")

	out, _, code := runSluice(t, "rules", "lint", "--config", conf, filepath.Join(dir, "safe"))
	for _, want := range []string{"relay safety proven", `rule "to-bob" redirects to bob@example.net: a local address`,
		`rule "to-desk" redirects to desk@partner.example: allowed by redirects_allowed`} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("lint safe (exit %d) lacks %q:\n%s", code, want, out)
		}
	}
	out, _, code = runSluice(t, "rules", "lint", "--config", conf, filepath.Join(dir, "unsafe"))
	if code != 1 || !strings.Contains(out, `unsafe/inbound.yaml:3:5: rule "out": relay safety: this rule can redirect mail from an unauthenticated sender to someone@elsewhere.example`) {
		t.Errorf("lint unsafe: exit %d:\n%s", code, out)
	}
	// Without the config the local domains are unknown: said, not refused.
	out, _, code = runSluice(t, "rules", "lint", filepath.Join(dir, "safe"))
	if code != 0 || !strings.Contains(out, "not proven without --config") {
		t.Errorf("lint without config: exit %d:\n%s", code, out)
	}
}
