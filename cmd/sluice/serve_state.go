package main

import (
	"context"
	"time"

	"github.com/sluicemail/sluice/server/state"
)

// openState opens the state of rate limits, greylisting and auth bans:
// Redis when the config names one (shared by every node that does), else
// a file in the data directory. A Redis that is down at start is logged,
// not fatal: its users see temperror until it answers.
func (in *instance) openState() error {
	r := in.cfg.State.Redis
	if r == nil {
		e, err := state.OpenEmbedded(in.cfg.Data)
		if err != nil {
			return err
		}
		in.state = e
		return nil
	}
	pass, err := state.RedisPassword(r.PasswordFile)
	if err != nil {
		return err
	}
	rs := state.OpenRedis(state.RedisOptions{Addr: r.Addr, Username: r.Username, Password: pass, DB: r.DB, Timeout: r.Timeout.D()})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := rs.Ping(ctx); err != nil {
		in.log.Warn("state: redis does not answer yet; rate limits and greylisting are temperror until it does", "addr", r.Addr, "err", err)
	} else {
		in.log.Info("state: redis", "addr", r.Addr, "db", r.DB)
	}
	in.state = rs
	return nil
}

// closeState closes the state after everything that uses it has stopped.
func (in *instance) closeState() {
	if in.state != nil {
		in.state.Close()
	}
}
