package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRelaySafetyProof(t *testing.T) {
	local := func(d string) bool { return d == "example.net" }
	pol := RelayPolicy{IsLocal: local, Allowed: []string{"Helpdesk@Partner.example"}}
	for _, c := range []struct {
		name, inbound, outbound string
		err                     string // "" when the proof holds
		proven                  string
	}{
		{name: "no redirect", inbound: "  - name: a\n    when: score > 5\n    action: junk\n",
			proven: "inbound: no rule redirects"},
		{name: "local target", inbound: "  - name: r\n    when: msg.subject contains \"x\"\n    action: redirect bob@EXAMPLE.net\n",
			proven: `inbound: rule "r" redirects to bob@EXAMPLE.net: a local address`},
		{name: "allowed target", inbound: "  - name: r\n    action: redirect helpdesk@partner.example\n",
			proven: "allowed by redirects_allowed"},
		{name: "unguarded", inbound: "  - name: r\n    when: msg.subject contains \"x\"\n    action: redirect a@elsewhere.example\n",
			err: `inbound.yaml:3:5: rule "r": relay safety: this rule can redirect mail from an unauthenticated sender to a@elsewhere.example`},
		{name: "always fires", inbound: "  - name: r\n    action: redirect a@elsewhere.example\n", err: "relay safety"},
		{name: "guarded by condition", inbound: "  - name: r\n    when: msg.subject contains \"x\" and auth.authenticated\n    action: redirect a@elsewhere.example\n",
			proven: "its condition requires auth.authenticated"},
		{name: "guarded both sides of or", inbound: "  - name: r\n    when: (auth.authenticated and score > 1) or (auth.authenticated == true)\n    action: redirect a@elsewhere.example\n",
			proven: "requires auth.authenticated"},
		{name: "one side of or unguarded", inbound: "  - name: r\n    when: auth.authenticated or score > 1\n    action: redirect a@elsewhere.example\n",
			err: "relay safety"},
		{name: "negated is not a guard", inbound: "  - name: r\n    when: not auth.authenticated\n    action: redirect a@elsewhere.example\n",
			err: "relay safety"},
		{name: "earlier rule ends unauthenticated mail", inbound: "  - name: g\n    when: not auth.authenticated\n    action: reject\n  - name: r\n    action: redirect a@elsewhere.example\n",
			proven: `rule "g" before it ends every unauthenticated message`},
		{name: "guard that does not stop", inbound: "  - name: g\n    when: not auth.authenticated\n    score: 1\n  - name: r\n    action: redirect a@elsewhere.example\n",
			err: "relay safety"},
		{name: "guard after the redirect", inbound: "  - name: r\n    action: redirect a@elsewhere.example\n  - name: g\n    when: not auth.authenticated\n    action: reject\n",
			err: "relay safety"},
		{name: "outbound", inbound: "  - name: a\n    action: accept\n", outbound: "  - name: r\n    action: redirect a@elsewhere.example\n",
			proven: "outbound pipeline runs only for authenticated senders"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "inbound.yaml"), []byte("pipeline: inbound\nrules:\n"+c.inbound), 0o644)
			if c.outbound != "" {
				os.WriteFile(filepath.Join(dir, "outbound.yaml"), []byte("pipeline: outbound\nrules:\n"+c.outbound), 0o644)
			}
			set, err := Load(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			proven, errs := set.ProveRelaySafety(pol)
			_, loadErr := Load(dir, Options{Relay: &pol})
			if c.err != "" {
				if len(errs) != 1 || !strings.Contains(errs[0].Error(), c.err) {
					t.Fatalf("errors %v, want %q", errs, c.err)
				}
				if loadErr == nil {
					t.Fatal("Load with a relay policy took an unsafe rule set")
				}
				return
			}
			if len(errs) != 0 || loadErr != nil || !strings.Contains(strings.Join(proven, "\n"), c.proven) {
				t.Fatalf("proven %q, errors %v, load %v; want %q", proven, errs, loadErr, c.proven)
			}
		})
	}
}
