package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"runtime"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/engine/source"
	"github.com/sluicemail/sluice/rules"
	"github.com/sluicemail/sluice/stages/resolver"
)

func init() {
	register(&command{name: "check", summary: "dry-run messages (files, Maildirs, mbox) through the rules", run: runCheck})
}

// checkOptions are the flags of `sluice check`.
type checkOptions struct {
	rulesDir, against, dnsFile, dataDir, pipeline string
	ip, helo, from                                string
	to, trustedNets                               multiFlag
	json, facts, quiet                            bool
	jobs, trustedHops                             int
}

func runCheck(args []string) int {
	var o checkOptions
	fs := newFlags("check", "[flags] PATH...", "Dry-run every message in PATH (message files, directories, Maildirs, mbox files)\nthrough the rules and show each verdict, the rules that fired, and a summary.")
	fs.StringVar(&o.rulesDir, "rules", defaultRulesDir, "rule directory")
	fs.StringVar(&o.against, "against", "", "older rule directory: show only messages whose action changes")
	fs.StringVar(&o.dnsFile, "dns", "", "answer DNS from this zone file (RFC 1035 master format) instead of the network")
	fs.StringVar(&o.dataDir, "data", "", "data directory (for the Bayes model)")
	fs.StringVar(&o.pipeline, "pipeline", rules.Inbound, "pipeline to run: inbound or outbound")
	fs.StringVar(&o.ip, "ip", "", "client IP (default: from the topmost Received field)")
	fs.StringVar(&o.helo, "helo", "", "HELO name (default: from the topmost Received field)")
	fs.StringVar(&o.from, "from", "", "MAIL FROM (default: Return-Path)")
	fs.Var(&o.to, "to", "RCPT TO, repeatable (default: the Received field's \"for\", X-Original-To, Delivered-To or To)")
	fs.IntVar(&o.trustedHops, "trusted-hops", 0, "Received fields of internal relays (content filters, a second MTA) to skip\nabove the one the MX wrote (LMTP hand-offs are always skipped)")
	fs.Var(&o.trustedNets, "trusted-net", "skip further Received fields whose client is in this network (CIDR), repeatable")
	fs.BoolVar(&o.json, "json", false, "one JSON object per message, then a summary object")
	fs.BoolVar(&o.facts, "facts", false, "show the facts each message produced")
	fs.BoolVar(&o.quiet, "q", false, "print only the summary")
	fs.IntVar(&o.jobs, "j", defaultCheckJobs(), "messages checked at once (output stays in walk order)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	if o.trustedHops < 0 {
		fmt.Fprintf(os.Stderr, "sluice check: --trusted-hops %d: want 0 or more\n", o.trustedHops)
		return 2
	}
	if o.jobs < 1 {
		fmt.Fprintf(os.Stderr, "sluice check: -j %d: want at least 1\n", o.jobs)
		return 2
	}
	quietLogs()
	c, err := newChecker(&o)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return c.run(fs.Args())
}

// checker runs messages through one rule set, or two with --against.
type checker struct {
	o        *checkOptions
	cur, old *engine.Pipeline
	dns      resolver.Resolver
	ip       netip.Addr // --ip, invalid when not given
	derive   rules.DeriveOptions
	out      *report
}

// defaultCheckJobs is four messages per core: a message mostly waits on
// DNS answers, so more than one per core keeps the cores busy.
func defaultCheckJobs() int { return 4 * runtime.GOMAXPROCS(0) }

func newChecker(o *checkOptions) (*checker, error) {
	c := &checker{o: o}
	if o.ip != "" {
		ip, err := netip.ParseAddr(o.ip)
		if err != nil {
			return nil, fmt.Errorf("--ip %q is not an IP address: %w", o.ip, err)
		}
		c.ip = ip
	}
	c.derive.TrustedHops = o.trustedHops
	for _, n := range o.trustedNets {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			return nil, fmt.Errorf("--trusted-net %q is not a network (CIDR): %w", n, err)
		}
		c.derive.TrustedNets = append(c.derive.TrustedNets, p.Masked())
	}
	if o.dnsFile != "" {
		z, err := resolver.LoadZoneFile(o.dnsFile)
		if err != nil {
			return nil, err
		}
		c.dns = z
	}
	var err error
	if c.cur, err = loadPipeline(o.rulesDir, o.pipeline, c.dns, o.dataDir); err != nil {
		return nil, err
	}
	if o.against != "" {
		if c.old, err = loadPipeline(o.against, o.pipeline, c.dns, o.dataDir); err != nil {
			return nil, err
		}
	}
	c.out = newReport(o)
	return c, nil
}

func loadPipeline(dir, name string, dns resolver.Resolver, dataDir string) (*engine.Pipeline, error) {
	set, err := rules.Load(dir, rules.Options{DNS: dns, DataDir: dataDir})
	if err != nil {
		return nil, fmt.Errorf("%s:\n%w", dir, err)
	}
	p := set.Pipeline(name)
	if p == nil {
		return nil, fmt.Errorf("%s: no %s pipeline", dir, name)
	}
	return p, nil
}

func (c *checker) run(paths []string) int {
	total := 0
	showProgress := !c.o.json
	if showProgress && isTerminal() {
		total = source.Count(paths)
	}
	bar := newProgress("checking", total, showProgress)
	err := c.evaluateAll(context.Background(), paths, func(x checked) {
		defer bar.add(1)
		if x.item.Err != nil {
			c.out.skipped(x.item)
			return
		}
		c.out.message(x.item.Path, x.res)
	})
	bar.finish()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sluice check:", err)
		return 2
	}
	c.out.summary()
	if c.out.skips > 0 {
		return 1
	}
	return 0
}

// result is one message's outcome, with the old verdict under --against.
type result struct {
	verdict engine.Verdict
	old     *engine.Verdict
	facts   map[string]any
	derived map[string]string // with --facts: where each envelope field came from
}

// evaluate runs m through the rules (and the old rules with --against);
// the message is parsed once and shared by both transactions.
func (c *checker) evaluate(ctx context.Context, m *engine.Message) result {
	var opts []engine.TxOption
	if c.dns != nil {
		opts = append(opts, engine.WithResolver(c.dns))
	}
	tx := c.cur.Begin(m, opts...)
	res := result{verdict: tx.Evaluate(ctx, engine.PhaseData)}
	if c.o.facts {
		res.facts = engine.FactsMap(tx.Facts(), append([]string{"conn", "auth", "envelope", "msg", "score"}, res.verdict.Stages...))
	}
	if c.old != nil {
		v := c.old.Begin(m, opts...).Evaluate(ctx, engine.PhaseData)
		res.old = &v
	}
	return res
}

// envelope derives the envelope from the message, then applies the
// flags, which win; sources says where each field came from.
func (c *checker) envelope(m *engine.Message) (engine.Envelope, map[string]string) {
	d := rules.Derive(m, c.derive)
	env := d.Envelope
	if c.ip.IsValid() {
		env.IP, d.Sources["conn.ip"] = c.ip, "--ip"
	}
	if c.o.helo != "" {
		env.HELO, d.Sources["conn.helo"] = c.o.helo, "--helo"
	}
	if c.o.from != "" {
		env.MailFrom, d.Sources["envelope.mail_from"] = c.o.from, "--from"
	}
	if len(c.o.to) > 0 {
		env.Rcpt, d.Sources["envelope.rcpt"] = c.o.to, "--to"
	}
	return env, d.Sources
}
