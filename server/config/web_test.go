package config

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestWebKeys(t *testing.T) {
	dir := t.TempDir()
	c, err := Parse([]byte(`hostname: mx.example.net
domains: [example.net, example.org]
listen: {http: "[::]:80", https: "[::]:443"}
tls: {acme: {email: postmaster@example.net, ca_root: pebble.pem}}
public_ips: [192.0.2.25, "2001:db8::25"]
relay: {mta_sts: false}
`), "t.yaml", dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.TLS.ACME.CA != LetsEncrypt || c.TLS.ACME.CARoot != filepath.Join(dir, "pebble.pem") {
		t.Errorf("acme %+v", c.TLS.ACME)
	}
	if c.MTASTS.Mode != STSTesting || c.MTASTS.MaxAge.D() != 7*24*time.Hour || !slices.Equal(c.MTASTS.MX, []string{"mx.example.net"}) {
		t.Errorf("mta_sts defaults %+v", c.MTASTS)
	}
	if c.Relay.ApplyMTASTS() || !c.Relay.SendTLSReports() {
		t.Error("relay.mta_sts: false not read, or tls_reports not on by default")
	}
	want := []string{"mx.example.net", "mta-sts.example.net", "autoconfig.example.net", "mta-sts.example.org", "autoconfig.example.org"}
	if got := c.ACMENames(); !slices.Equal(got, want) {
		t.Errorf("ACMENames = %v", got)
	}
}

func TestWebKeyErrors(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"acme and files":     {"domains: [a.example]\nlisten: {http: \":80\"}\ntls:\n  cert: c\n  key: k\n  acme: {email: x@a.example}\n", "t.yaml:6: tls.acme: acme and cert/key exclude"},
		"acme, no listener":  {"domains: [a.example]\ntls:\n  acme: {email: x@a.example}\n", "t.yaml:3: tls.acme: ACME needs listen.http"},
		"bad public ip":      {"domains: [a.example]\npublic_ips: [192.0.2.300]\n", "public_ips[0]"},
		"bad mode":           {"domains: [a.example]\nmta_sts: {mode: strict}\n", "t.yaml:2: mta_sts.mode: unknown mode"},
		"max_age over limit": {"domains: [a.example]\nmta_sts: {max_age: 400d}\n", "mta_sts.max_age"},
		"bad http address":   {"domains: [a.example]\nlisten: {http: localhost}\n", "listen.http"},
	} {
		_, err := Parse([]byte(tc.yaml), "t.yaml", t.TempDir())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}
