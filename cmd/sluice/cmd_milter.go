package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sluicemail/sluice/rules"
	"github.com/sluicemail/sluice/server/admin"
	"github.com/sluicemail/sluice/server/health"
	"github.com/sluicemail/sluice/server/smtp"
)

func init() {
	register(&command{
		name:    "milter",
		summary: "run the rules as a milter behind Postfix or Sendmail (no queue, no mailboxes)",
		run:     func(args []string) int { return runMilter(args, os.Stdout, os.Stderr) },
	})
}

// runMilter serves the rules to an MTA: the config's rules, DNS, state
// and DKIM keys; its listeners other than the milter are not opened.
func runMilter(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("milter", "--config FILE [--listen ADDR]", "Run the rules as a milter for an MTA in front (Postfix: smtpd_milters = inet:ADDR).\nThe config's rules, dns, state and dkim keys apply; ADDR defaults to listen.milter.")
	fs.SetOutput(stderr)
	confPath := fs.String("config", "", "config file (YAML; see examples/sluice.yaml)")
	listen := fs.String("listen", "", "milter address, e.g. 127.0.0.1:11332 (default: listen.milter)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := loadConfig(*confPath)
	if err != nil {
		fmt.Fprintln(stderr, "sluice milter:", err)
		return 1
	}
	if *listen == "" {
		*listen = cfg.Listen.Milter
	}
	if *listen == "" {
		fmt.Fprintln(stderr, "sluice milter: no address: give --listen or listen.milter in the config")
		return 2
	}
	log := newLogger(cfg, stderr)
	in := &instance{cfg: cfg, log: log}
	defer in.closeState()
	defer in.closeJournal()
	if err := in.startMilterAlone(*listen); err != nil {
		fmt.Fprintln(stderr, "sluice milter:", err)
		return 1
	}
	defer in.closeMilterAdmin()
	fmt.Fprintf(stdout, "sluice milter: listening on %s, rules in %s\n", in.addrs[0], in.live.Dir())
	if in.admin != nil {
		fmt.Fprintf(stdout, "sluice milter: admin on http://%s/ (healthz, readyz, metrics, POST reload)\n", in.admin.Addr)
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	for sig := range sigs {
		if sig == syscall.SIGHUP {
			in.reload()
			continue
		}
		log.Info("shutting down", "signal", sig.String())
		signal.Stop(sigs)
		in.cancel()
		in.stopMilter(cfg.Limits.Timeouts.Shutdown.D())
		return 0
	}
	return 0
}

// startMilterAlone brings up what a milter needs of a server: the data
// directory (for the state and the Bayes model), the resolver, the rules
// with their reload watcher, the listener, and listen.admin when set.
func (in *instance) startMilterAlone(addr string) error {
	cfg := in.cfg
	ctx, cancel := context.WithCancel(context.Background())
	in.cancel = cancel
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return err
	}
	var err error
	if in.dns, in.dnsHealth, err = openTrackedResolver(ctx, in); err != nil {
		return err
	}
	dir, err := rulesDir(cfg)
	if err != nil {
		return err
	}
	ropts, err := rulesOptions(cfg, in.dns)
	if err != nil {
		return err
	}
	if err = in.openState(); err != nil {
		return err
	}
	ropts.State = in.state
	ropts.Learn = true // the live set only
	if in.live, err = rules.NewLive(dir, ropts); err != nil {
		return fmt.Errorf("rules: %w", err)
	}
	in.live.SetLogger(in.log)
	go in.live.Watch(ctx, 500*time.Millisecond)
	if err = in.openJournal(ctx); err != nil {
		return err
	}
	rm := smtp.NewMetrics()
	m, err := in.newMilter(rm)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	in.milter = m
	in.addrs = append(in.addrs, l.Addr().String())
	go m.Serve(l)
	return in.startMilterAdmin(rm)
}

// startMilterAdmin serves listen.admin for `sluice milter`: /metrics with
// the milter's counters and the rule metrics `sluice serve` exports
// (verdicts, rule hits, stage durations), /readyz (DNS, rules), POST
// /reload.
func (in *instance) startMilterAdmin(rm *smtp.Metrics) error {
	if in.cfg.Listen.Admin == "" {
		return nil
	}
	cs := append([]prometheus.Collector{in.milter.Metrics(), in.dnsHealth}, rm.RuleCollectors()...)
	var err error
	in.admin, err = admin.Listen(in.cfg.Listen.Admin, admin.Options{
		Collectors: append(append(cs, in.rulesCollectors()...), in.dnsCacheCollectors()...),
		Ready: func() []health.Check {
			return []health.Check{{Name: "dns", Run: in.dnsHealth.Err}, {Name: "rules", Run: in.rulesHealth}}
		},
		Reload: in.reload,
		Logger: in.log,
	})
	return err
}

func (in *instance) closeMilterAdmin() {
	if in.admin != nil {
		in.admin.Close()
	}
}
