package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/sluicemail/sluice/server/certs"
	"github.com/sluicemail/sluice/server/config"
	"github.com/sluicemail/sluice/server/mtasts"
	"github.com/sluicemail/sluice/server/queue"
	"github.com/sluicemail/sluice/server/relay"
	"github.com/sluicemail/sluice/server/tlsrpt"
	"github.com/sluicemail/sluice/server/wellknown"
	"github.com/sluicemail/sluice/stages/dkim"
)

// The certificates, the web listeners (ACME challenges, the MTA-STS
// policy, autoconfig) and the outbound MTA-STS and TLS reporting, wired
// from the config. Kept out of cmd_serve.go so that the wiring of the
// other parts reads on its own.

// webParts is what this file adds to a running instance.
type webParts struct {
	certs   *certs.Manager
	web     []*http.Server
	reports *tlsrpt.Reporter
	stopBg  context.CancelFunc
	bgDone  sync.WaitGroup
}

// acmeTuning lets tests shorten the renewal checks of the ACME manager.
var acmeTuning func(*certs.ACME)

// startCerts opens the web listeners (their addresses are where ACME
// challenges are answered), starts the certificate manager and serves
// the web handler; it returns the TLS configuration of every listener.
func (in *instance) startCerts() (*tls.Config, error) {
	cfg := in.cfg
	lns, err := listenWeb(cfg)
	if err != nil {
		return nil, err
	}
	opts := certs.Options{Hostname: cfg.Hostname, CertFile: cfg.TLS.Cert, KeyFile: cfg.TLS.Key,
		SelfSignedDir: filepath.Join(cfg.Data, "tls"), Logger: in.log}
	if a := cfg.TLS.ACME; a != nil {
		if opts.ACME, err = acmeOptions(cfg, a, lns); err != nil {
			closeAll(lns)
			return nil, err
		}
	}
	if in.certs, err = certs.New(opts); err != nil {
		closeAll(lns)
		return nil, err
	}
	in.selfTLS = in.certs.SelfSigned()
	tlsConf := in.certs.TLSConfig()
	handler := in.certs.HTTPHandler(wellknown.New(wellknownOptions(cfg)))
	for kind, ln := range lns {
		srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}
		in.web = append(in.web, srv)
		if kind == "https" {
			c := tlsConf.Clone()
			c.NextProtos = append([]string{"h2", "http/1.1"}, c.NextProtos...)
			ln = tls.NewListener(ln, c)
		}
		go srv.Serve(ln)
		in.addrs = append(in.addrs, fmt.Sprintf("%-12s %s (MTA-STS policy, autoconfig%s)", kind, ln.Addr(), acmeNote(cfg)))
	}
	return tlsConf, nil
}

func acmeNote(cfg *config.Config) string {
	if cfg.TLS.ACME != nil {
		return ", ACME challenges"
	}
	return ""
}

func listenWeb(cfg *config.Config) (map[string]net.Listener, error) {
	lns := map[string]net.Listener{}
	for kind, addr := range map[string]string{"http": cfg.Listen.HTTP, "https": cfg.Listen.HTTPS} {
		if addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			closeAll(lns)
			return nil, fmt.Errorf("%s: %w", kind, err)
		}
		lns[kind] = ln
	}
	return lns, nil
}

func closeAll(lns map[string]net.Listener) {
	for _, ln := range lns {
		ln.Close()
	}
}

func acmeOptions(cfg *config.Config, a *config.ACME, lns map[string]net.Listener) (*certs.ACME, error) {
	o := &certs.ACME{CA: a.CA, Email: a.Email, Names: cfg.ACMENames(), Dir: filepath.Join(cfg.Data, "acme")}
	if ln := lns["http"]; ln != nil {
		o.HTTPAddr = ln.Addr().String()
	}
	if ln := lns["https"]; ln != nil {
		o.HTTPSAddr = ln.Addr().String()
	}
	if a.CARoot != "" {
		var err error
		if o.Roots, err = certs.LoadRoots(a.CARoot); err != nil {
			return nil, err
		}
	}
	if acmeTuning != nil {
		acmeTuning(o)
	}
	return o, nil
}

func wellknownOptions(cfg *config.Config) wellknown.Options {
	o := wellknown.Options{Hostname: cfg.Hostname, Domains: cfg.Domains,
		IMAPS: portOf(cfg.Listen.IMAPS), IMAP: portOf(cfg.Listen.IMAP),
		Submissions: portOf(cfg.Listen.Submissions), Submission: portOf(cfg.Listen.Submission)}
	if cfg.MTASTS.Mode != config.STSNone {
		o.Policy = &mtasts.Policy{Mode: cfg.MTASTS.Mode, MX: cfg.MTASTS.MX, MaxAge: cfg.MTASTS.MaxAge.D()}
	}
	return o
}

func portOf(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

// relayTLS returns what MX delivery needs for MTA-STS and TLS-RPT: the
// policy fetcher, and the reporter, whose reports go out through the
// queue (set later in start; nothing is sent before the first day ends).
func (in *instance) relayTLS() func(*relay.Options) {
	cfg := in.cfg
	return func(o *relay.Options) {
		if cfg.Relay.Smarthost != nil {
			return // the smarthost decides, and reports, for itself
		}
		if cfg.Relay.ApplyMTASTS() {
			o.MTASTS = mtasts.NewFetcher(mtasts.Options{Resolver: in.dns})
		}
		if !cfg.Relay.SendTLSReports() {
			return
		}
		rep, err := tlsrpt.New(tlsrpt.Options{Resolver: in.dns, Submitter: cfg.Domains[0], Contact: "postmaster@" + cfg.Domains[0],
			Mail: in.mailReport, Dir: filepath.Join(cfg.Data, "tlsrpt"), Logger: in.log})
		if err != nil {
			in.log.Warn("TLS reports off", "err", err)
			return
		}
		in.reports = rep
		o.Reports = rep.Record
	}
}

// mailReport signs a report with the domain's DKIM keys (RFC 8460
// section 5.3 requires a signature) and queues it.
func (in *instance) mailReport(ctx context.Context, from string, to []string, raw []byte) error {
	if in.queue == nil {
		return errors.New("no queue")
	}
	if s, err := newDKIMSigner(in.cfg); err == nil && s != nil {
		if signed, err := s.Sign(raw); err == nil {
			raw = signed
		}
	}
	rcpts := make([]queue.Recipient, len(to))
	for i, a := range to {
		rcpts[i] = queue.Recipient{Addr: a}
	}
	_, err := in.queue.Put(ctx, queue.Envelope{From: from, Rcpt: rcpts}, raw)
	return err
}

// newDKIMSigner loads the configured signing keys; nil without keys.
func newDKIMSigner(cfg *config.Config) (*dkim.Signer, error) {
	if len(cfg.DKIM.Keys) == 0 {
		return nil, nil
	}
	var keys []dkim.SignerConfig
	for _, k := range cfg.DKIM.Keys {
		keys = append(keys, dkim.SignerConfig{Domain: k.Domain, Selector: k.Selector, KeyFile: k.Key})
	}
	return dkim.NewSigner(keys)
}

// startWebBackground runs the daily TLS reports until stopWeb.
func (in *instance) startWebBackground() {
	ctx, cancel := context.WithCancel(context.Background())
	in.stopBg = cancel
	if in.reports != nil {
		in.bgDone.Add(1)
		go func() { defer in.bgDone.Done(); in.reports.Run(ctx, time.Hour) }()
	}
}

// stopWeb stops the web listeners, the reports (saving their counts) and
// the certificate renewals.
func (in *instance) stopWeb() {
	for _, s := range in.web {
		s.Close()
	}
	if in.stopBg != nil {
		in.stopBg()
		in.bgDone.Wait()
	}
	if in.certs != nil {
		in.certs.Close()
	}
}
