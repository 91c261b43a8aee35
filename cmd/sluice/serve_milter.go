package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/server/milter"
)

// newMilter builds the milter server on the running rules: the same
// pipelines as the SMTP listeners, our host name in
// Authentication-Results, the DKIM keys for authenticated senders, the
// verdict journal; its verdicts and stage runs count in rules (the SMTP
// server's metrics under `sluice serve`).
func (in *instance) newMilter(rules milter.RuleMetrics) (*milter.Server, error) {
	cfg, live, dns := in.cfg, in.live, in.dns
	opts := milter.Options{
		Pipeline:   func(name string) *engine.Pipeline { return live.Current().Pipeline(name) },
		AuthservID: cfg.Hostname, Logger: in.log, Rules: rules,
	}
	if in.journal != nil {
		opts.Journal = in.journal
	}
	if dns != nil {
		opts.DNS = dns
	}
	s, err := newDKIMSigner(cfg)
	if err != nil {
		return nil, fmt.Errorf("dkim: %w", err)
	}
	if s != nil {
		opts.Signer = s
	}
	return milter.New(opts), nil
}

// startMilter serves listen.milter beside the SMTP listeners.
func (in *instance) startMilter() error {
	addr := in.cfg.Listen.Milter
	if addr == "" {
		return nil
	}
	m, err := in.newMilter(in.smtp.Metrics())
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	in.milter = m
	go m.Serve(l)
	in.addrs = append(in.addrs, fmt.Sprintf("%-12s %s", "milter", l.Addr()))
	return nil
}

// stopMilter lets milter sessions finish their message, for at most 5s:
// the MTA holds a milter connection for a whole SMTP session, and one it
// loses mid-session gets milter_default_action (tempfail), so nothing
// passes unchecked.
func (in *instance) stopMilter(bound time.Duration) {
	if in.milter == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), min(bound, 5*time.Second))
	defer cancel()
	if in.milter.Shutdown(ctx) != nil {
		in.milter.Close()
	}
}
