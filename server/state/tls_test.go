package state

import (
	"context"
	"testing"
	"time"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/server/state/redistest"
)

// TestRedisTLS: a real redis-server that speaks only TLS is reached with
// state.redis.tls and its CA, and the name its certificate holds; a plain
// client, a client that does not trust the CA and one expecting another
// name all fail (temperror for the rules), not silently downgrade.
func TestRedisTLS(t *testing.T) {
	srv := redistest.StartTLS(t)
	ctx := context.Background()
	open := func(caFile, name string, useTLS bool) *Redis {
		t.Helper()
		o := RedisOptions{Addr: srv.Addr, Timeout: time.Second}
		if useTLS {
			var err error
			if o.TLS, err = RedisTLS(srv.Addr, caFile, name); err != nil {
				t.Fatal(err)
			}
		}
		r := OpenRedis(o)
		t.Cleanup(func() { r.Close() })
		return r
	}
	r := open(srv.CAFile, srv.ServerName, true)
	if err := r.Ping(ctx); err != nil {
		t.Fatalf("TLS with the CA and the name: %v", err)
	}
	lim := engine.Rate{Count: 1, Per: time.Hour}
	if _, ex, err := r.RateHit(ctx, "tls", lim, 1); err != nil || ex {
		t.Fatalf("first hit over TLS: %v, exceeded %v", err, ex)
	}
	if _, ex, err := r.RateHit(ctx, "tls", lim, 1); err != nil || !ex {
		t.Fatalf("second hit over TLS: %v, exceeded %v; want the count kept", err, ex)
	}
	for name, bad := range map[string]*Redis{
		"plain":          open("", "", false),
		"system CAs":     open("", srv.ServerName, true),
		"the wrong name": open(srv.CAFile, "other.test", true),
		"the address":    open(srv.CAFile, "", true), // 127.0.0.1 is not in the certificate
	} {
		if err := bad.Ping(ctx); err == nil {
			t.Errorf("%s: reached a TLS Redis", name)
		}
	}
	if _, err := RedisTLS(srv.Addr, srv.CAFile+".missing", ""); err == nil {
		t.Error("a missing ca_file is not an error")
	}
}
