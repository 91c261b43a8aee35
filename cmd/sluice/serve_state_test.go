package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/server/config"
	"github.com/sluicemail/sluice/server/state/redistest"
)

// TestRedisPasswordFileAndDB: `state: {redis: {addr, password_file, db}}`
// reaches a redis-server that requires a password: the password is the
// file's first line, and the state's keys land in the database named.
func TestRedisPasswordFileAndDB(t *testing.T) {
	const pass = "s3cret-redis"
	srv := redistest.StartPassword(t, pass)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "redis.pass"), []byte(pass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "sluice.yaml")
	if err := os.WriteFile(conf, []byte("hostname: mx.example.net\ndomains: [example.net]\ndata: data\n"+
		"state: {redis: {addr: "+srv.Addr+", password_file: redis.pass, db: 3}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(conf)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := openRedis(cfg.State.Redis)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	ctx := context.Background()
	if _, _, err := rs.RateHit(ctx, "user|1h0m0s|alice", engine.Rate{Count: 5, Per: time.Hour}, 1); err != nil {
		t.Fatalf("rate hit with the password file's password: %v", err)
	}
	keys := func(db int) []string {
		c := redis.NewClient(&redis.Options{Addr: srv.Addr, Password: pass, DB: db, DisableIdentity: true})
		defer c.Close()
		ks, err := c.Keys(ctx, "sluice:rate:*").Result()
		if err != nil {
			t.Fatal(err)
		}
		return ks
	}
	if n3, n0 := len(keys(3)), len(keys(0)); n3 != 1 || n0 != 0 {
		t.Fatalf("rate keys: %d in db 3, %d in db 0; want the one in db 3", n3, n0)
	}
	// Without the password, the server refuses: the test server does
	// require one.
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, DisableIdentity: true})
	defer c.Close()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("redis-server answered without the password")
	}
}
