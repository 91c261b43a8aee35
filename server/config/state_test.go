package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestStateRedis: the state block reads, its password file is relative
// to the config, and bad values name their key.
func TestStateRedis(t *testing.T) {
	base := t.TempDir()
	c, err := Parse([]byte("domains: [a.example]\nstate: {redis: {addr: 127.0.0.1:6379, password_file: redis.pass, db: 2}}\n"), "t.yaml", base)
	if err != nil {
		t.Fatal(err)
	}
	r := c.State.Redis
	if r == nil || r.Addr != "127.0.0.1:6379" || r.DB != 2 || r.PasswordFile != filepath.Join(base, "redis.pass") {
		t.Fatalf("state.redis = %+v", r)
	}
	c, err = Parse([]byte("domains: [a.example]\nstate: {redis: {addr: 127.0.0.1:6380, tls: true, ca_file: ca.pem, server_name: redis.internal, dns_cache: true}}\n"), "t.yaml", base)
	if err != nil {
		t.Fatal(err)
	}
	if r := c.State.Redis; !r.TLS || r.CAFile != filepath.Join(base, "ca.pem") || r.ServerName != "redis.internal" || !r.DNSCache {
		t.Fatalf("state.redis with tls = %+v", r)
	}
	if c, _ := Parse([]byte("domains: [a.example]\n"), "t.yaml", base); c.State.Redis != nil {
		t.Fatal("no state block: want the embedded state (nil redis)")
	}
	for _, tc := range []struct{ yaml, want string }{
		{"state: {redis: {addr: nowhere}}", "state.redis.addr"},
		{"state: {redis: {addr: 127.0.0.1:6379, db: 99}}", "state.redis.db"},
		{"state: {redis: {adr: 127.0.0.1:6379}}", "adr"},
		{"state: {redis: {addr: 127.0.0.1:6379, ca_file: ca.pem}}", "state.redis.tls"},
	} {
		_, err := Parse([]byte("domains: [a.example]\n"+tc.yaml+"\n"), "t.yaml", base)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %s", tc.yaml, err, tc.want)
		}
	}
}
