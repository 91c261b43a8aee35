package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `sluice check --facts` shows the arc facts: the example list post's
// chain passes, sealed by lists.example; the same post with its body
// changed after the seal fails (and, untrusted in a dry run with no
// config, DMARC refuses it either way).
func TestCheckShowsARCFacts(t *testing.T) {
	raw, err := os.ReadFile("../../examples/rules/testdata/forwarded.eml")
	if err != nil {
		t.Fatal(err)
	}
	changed := filepath.Join(t.TempDir(), "changed.eml")
	os.WriteFile(changed, bytes.Replace(raw, []byte("Same place."), []byte("Other place."), 1), 0o644)
	out, stderr, code := runSluice(t, "check", "--json", "--facts", "--dns", "examples/rules/testdata/zone.txt",
		"examples/rules/testdata/forwarded.eml", changed)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	type arcFacts struct {
		Chain   string   `json:"chain"`
		Sealers []string `json:"sealers"`
		Trusted bool     `json:"trusted"`
		Reason  string   `json:"reason"`
		Newest  string   `json:"newest_results"`
	}
	var res []struct {
		Action string `json:"action"`
		Facts  struct {
			ARC arcFacts `json:"arc"`
		} `json:"facts"`
	}
	for _, l := range lines[:2] {
		var r struct {
			Action string `json:"action"`
			Facts  struct {
				ARC arcFacts `json:"arc"`
			} `json:"facts"`
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		res = append(res, r)
	}
	if a := res[0].Facts.ARC; a.Chain != "pass" || strings.Join(a.Sealers, ",") != "lists.example" || a.Trusted || !strings.Contains(a.Newest, "dmarc=pass") {
		t.Errorf("the list's post: %+v", a)
	}
	if a := res[1].Facts.ARC; a.Chain != "fail" || !strings.Contains(a.Reason, "body hash") {
		t.Errorf("the changed post: %+v", a)
	}
	if res[0].Action != "reject" || res[1].Action != "reject" {
		t.Errorf("actions %s, %s: without a trusted list both fail DMARC", res[0].Action, res[1].Action)
	}
}
