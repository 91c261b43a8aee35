package config

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestForwardingDefaults(t *testing.T) {
	base := t.TempDir()
	c, err := Parse([]byte("domains: [Example.NET, other.example]\ndata: d\ndmarc: {reports: true}\narc: {trusted: [lists.example]}\n"), "t", base)
	if err != nil {
		t.Fatal(err)
	}
	if c.SRS.Domain != "example.net" || c.SRS.SecretFile != filepath.Join(base, "d", "srs.secret") {
		t.Errorf("srs: %+v", c.SRS)
	}
	if c.DMARC.RUA != "dmarc-reports@example.net" || c.DMARC.From != c.DMARC.RUA || !c.ARC.Sealing() || c.ARC.Trusted[0] != "lists.example" {
		t.Errorf("dmarc %+v arc %+v", c.DMARC, c.ARC)
	}
	c, err = Parse([]byte("domains: [example.net]\nsrs: {secret_file: keys/srs, domain: example.net}\narc: {seal: false}\n"), "t", base)
	if err != nil || c.SRS.SecretFile != filepath.Join(base, "keys/srs") || c.ARC.Sealing() || c.DMARC.RUA != "" {
		t.Errorf("%v %+v %+v", err, c.SRS, c.DMARC)
	}
	for text, want := range map[string]string{
		"domains: [example.net]\nsrs: {domain: elsewhere.example}\n":          "srs.domain",
		"domains: [example.net]\ndmarc: {rua: reports@elsewhere.example}\n":   "not at a local domain",
		"domains: [example.net]\ndmarc: {reports: true, from: not an addr}\n": "t:2: dmarc.from",
		"domains: [example.net]\narc: {trusted: [\"a b\"]}\n":                 "t:2: arc.trusted[0]",
		"domains: [example.net]\nsrs: {secret: x}\n":                          "secret",
	} {
		_, err := Parse([]byte(text), "t", base)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error about %s", text, err, want)
		}
	}
}
