package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/sluicemail/sluice/rules"
	"github.com/sluicemail/sluice/server/config"
	"github.com/sluicemail/sluice/server/doctor"
	"github.com/sluicemail/sluice/stages/dkim"
	"github.com/sluicemail/sluice/stages/dnsbl"
)

func init() {
	register(&command{
		name:    "doctor",
		summary: "check the DNS records, the certificate and the running server; each finding with its fix",
		run:     func(args []string) int { return runDoctor(args, os.Stdout, os.Stderr) },
	})
}

func runDoctor(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("doctor", "--config FILE [--json] [--send-test ADDRESS]",
		"Check what makes mail flow: MX, addresses and reverse DNS, SPF, DKIM, DMARC, MTA-STS,\n"+
			"TLS-RPT, client SRV records, the certificate, the listeners, no open relay, outbound\n"+
			"port 25 and the DNS block lists. One line per finding: ok, warn or fail, the check, the fix.\n"+
			"Exit status 0 when all is ok, 1 with warnings, 2 with a failure.")
	fs.SetOutput(stderr)
	confPath := fs.String("config", "", "config file (its dns: settings answer the lookups)")
	asJSON := fs.Bool("json", false, "print the findings as JSON")
	sendTo := fs.String("send-test", "", "also send a signed test message to this address")
	outbound := fs.String("outbound-test", "gmail.com", "domain whose MX tests outbound port 25")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return 2
	}
	cfg, err := loadConfig(*confPath)
	if err != nil {
		fmt.Fprintln(stderr, "sluice doctor:", err)
		return 2
	}
	quietLogs()
	env, err := doctorEnv(cfg, *outbound)
	if err != nil {
		fmt.Fprintln(stderr, "sluice doctor:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	results := doctor.Run(ctx, env)
	if *sendTo != "" {
		results = append(results, sendTest(ctx, cfg, env, *sendTo))
	}
	if *asJSON {
		e := json.NewEncoder(stdout)
		e.SetIndent("", "  ")
		e.Encode(results)
	} else {
		doctor.Write(stdout, results)
	}
	return int(doctor.Worst(results))
}

// doctorEnv gathers what the checks look at from the config.
func doctorEnv(cfg *config.Config, outbound string) (*doctor.Env, error) {
	dns, err := openResolver(cfg, nil)
	if err != nil {
		return nil, err
	}
	env := &doctor.Env{Hostname: cfg.Hostname, Domains: cfg.Domains, DNS: dns, MTASTS: cfg.MTASTS.Mode,
		SMTPAddr: cfg.Listen.SMTP, OutboundDomain: outbound, OutboundPort: cfg.Relay.Port,
		Listeners: map[string]string{"smtp": cfg.Listen.SMTP, "submission": cfg.Listen.Submission,
			"submissions": cfg.Listen.Submissions, "imap": cfg.Listen.IMAP, "imaps": cfg.Listen.IMAPS,
			"http": cfg.Listen.HTTP, "https": cfg.Listen.HTTPS}}
	if env.SMTPAddr != "" {
		env.SMTPAddr = localAddr(env.SMTPAddr)
	}
	if p := portOf(cfg.Listen.HTTPS); p != 0 && p != 443 {
		env.STSPort = p // a test or unusual setup: the policy host is reached where we listen
	}
	if sh := cfg.Relay.Smarthost; sh != nil {
		env.Smarthost = net.JoinHostPort(sh.Host, fmt.Sprint(sh.Port))
	}
	if env.IPs, err = publicIPs(cfg); err != nil {
		return nil, err
	}
	for _, k := range cfg.DKIM.Keys {
		key, err := dkim.LoadKey(k.Key)
		if err != nil {
			return nil, err
		}
		env.DKIM = append(env.DKIM, doctor.DKIMKey{Domain: k.Domain, Selector: k.Selector, Public: key.Public()})
	}
	env.DNSBLZones = ruleZones(cfg)
	env.SoftBounce = cfg.Migration.SoftBounce
	return env, nil
}

// localAddr turns a wildcard listen address into one to connect to.
func localAddr(addr string) string {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	switch h {
	case "", "0.0.0.0":
		h = "127.0.0.1"
	case "::":
		h = "::1"
	}
	return net.JoinHostPort(h, p)
}

// publicIPs are public_ips, or the machine's global addresses.
func publicIPs(cfg *config.Config) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, s := range cfg.PublicIPs {
		out = append(out, netip.MustParseAddr(s))
	}
	if len(out) > 0 {
		return out, nil
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().IsGlobalUnicast() && !p.Addr().IsPrivate() {
			out = append(out, p.Addr())
		}
	}
	return out, nil
}

// ruleZones returns the IP lists the inbound rules query.
func ruleZones(cfg *config.Config) []string {
	dir := cfg.Rules
	if dir == "" {
		dir = filepath.Join(cfg.Data, "rules")
	}
	set, err := rules.Load(dir, rules.Options{DataDir: cfg.Data})
	if err != nil {
		return nil
	}
	p := set.Pipeline(rules.Inbound)
	if p == nil {
		return nil
	}
	if st, ok := p.Stages["dnsbl"].(*dnsbl.Stage); ok {
		return st.Zones()
	}
	return nil
}

// sendTest relays a signed message to address directly, as the server
// would.
func sendTest(ctx context.Context, cfg *config.Config, env *doctor.Env, address string) doctor.Result {
	sender, err := newRelay(cfg, env.DNS, slog.New(slog.DiscardHandler))
	if err != nil {
		return doctor.Result{Check: "send-test", Subject: address, Status: doctor.Fail, Detail: err.Error()}
	}
	var sign func([]byte) ([]byte, error)
	if s, err := newDKIMSigner(cfg); err == nil && s != nil {
		sign = s.Sign
	}
	return doctor.SendTest(ctx, env, sender, sign, address)
}
