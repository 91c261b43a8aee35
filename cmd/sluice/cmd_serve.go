package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/examples"
	"github.com/sluicemail/sluice/rules"
	"github.com/sluicemail/sluice/server/admin"
	"github.com/sluicemail/sluice/server/auth"
	"github.com/sluicemail/sluice/server/config"
	"github.com/sluicemail/sluice/server/diskfree"
	"github.com/sluicemail/sluice/server/health"
	"github.com/sluicemail/sluice/server/imap"
	"github.com/sluicemail/sluice/server/milter"
	"github.com/sluicemail/sluice/server/queue"
	"github.com/sluicemail/sluice/server/relay"
	"github.com/sluicemail/sluice/server/smtp"
	"github.com/sluicemail/sluice/server/state"
	"github.com/sluicemail/sluice/server/store"
	"github.com/sluicemail/sluice/server/verdicts"
	_ "github.com/sluicemail/sluice/stages/all" // every check, registered by namespace
	"github.com/sluicemail/sluice/stages/bayes"
	"github.com/sluicemail/sluice/stages/resolver"
	"github.com/sluicemail/sluice/stages/sender"
)

func init() {
	register(&command{
		name:    "serve",
		summary: "run the mail server (SMTP, submission, IMAP, admin); no --config: a loopback demo",
		run:     func(args []string) int { return runServe(args, os.Stdout, os.Stderr) },
	})
}

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("serve", "[--config FILE]", "Run the mail server. Without --config it runs the embedded default:\nloopback ports, data in ./sluice-data, a self-signed certificate and the example rules.")
	fs.SetOutput(stderr)
	confPath := fs.String("config", "", "config file (YAML; see examples/sluice.yaml)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := loadConfig(*confPath)
	if err != nil {
		fmt.Fprintln(stderr, "sluice serve:", err)
		return 1
	}
	log := newLogger(cfg, stderr)
	in, err := start(cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, "sluice serve:", err)
		return 1
	}
	in.banner(stdout, *confPath)
	if cfg.Migration.SoftBounce {
		log.Warn(softBounceNotice) // the log is what a service manager keeps
	}
	notify(log, "READY=1")
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	for sig := range sigs {
		if sig == syscall.SIGHUP {
			in.reload()
			continue
		}
		log.Info("shutting down", "signal", sig.String(), "bound", cfg.Limits.Timeouts.Shutdown.D())
		notify(log, "STOPPING=1")
		signal.Stop(sigs)
		go func() { <-sigs; os.Exit(1) }() // a second signal stops at once
		in.stop(cfg.Limits.Timeouts.Shutdown.D())
		return 0
	}
	return 0
}

func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return config.Default()
	}
	return config.Load(path)
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	level := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}[cfg.Log.Level]
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// instance is one running server: every component, started in order and
// stopped in reverse.
type instance struct {
	cfg      *config.Config
	log      *slog.Logger
	dns      resolver.Resolver
	accounts *auth.Accounts
	store    *store.Store
	queue    *queue.Queue
	live     *rules.Live
	smtp     *smtp.Server
	imap     []*imap.Server
	admin    *admin.Server
	headroom *diskfree.Monitor // free space of the data directory (serve_headroom.go)
	state    state.Store       // rate limits, greylisting, auth bans (serve_state.go)
	milter   *milter.Server    // listen.milter (serve_milter.go)
	book     *sender.Book      // users' known correspondents (serve_senders.go)
	bayes    *bayesMetrics     // the Junk trainer and the model's metrics (serve_bayes_metrics.go)
	// dnsHealth tracks the resolver's failures (serve_health.go)
	dnsHealth *health.DNS
	verdicts  *verdicts.Ring // the recent verdicts, for the console
	selfTLS   bool
	addrs     []string // "kind addr" lines for the banner
	cancel    context.CancelFunc
	bg        chan struct{} // closed when the queue runner has returned
	stopOnce  sync.Once
	// pidWritten: the pid file is ours to remove (a start that failed,
	// say on a spool locked by a running server, must leave its pid file)
	pidWritten bool
	webParts   // certificates, web listeners, TLS reports (serve_certs.go)
	// SRS and ARC for forwarded mail, DMARC aggregate reports
	// (serve_forwarding.go, serve_reports.go)
	forwardParts
	// the verdict journal and the shadow rules (serve_journal.go)
	journalParts
	sieveParts // users' Sieve scripts and ManageSieve (serve_sieve.go)
}

// start brings a server up from cfg. On error, what was started is stopped.
func start(cfg *config.Config, log *slog.Logger) (in *instance, err error) {
	in = &instance{cfg: cfg, log: log, bg: make(chan struct{}), verdicts: verdicts.NewRing(recentVerdicts)}
	ctx, cancel := context.WithCancel(context.Background())
	in.cancel = cancel
	defer func() {
		if err != nil {
			in.stop(time.Second)
		}
	}()
	if err = os.MkdirAll(cfg.Data, 0o700); err != nil {
		return in, err
	}
	if in.dns, in.dnsHealth, err = openTrackedResolver(ctx, in); err != nil {
		return in, err
	}
	rulesDir, err := rulesDir(cfg)
	if err != nil {
		return in, err
	}
	ropts, err := rulesOptions(cfg, in.dns)
	if err != nil {
		return in, err
	}
	if err = in.openState(); err != nil {
		return in, err
	}
	ropts.State = in.state
	ropts.Learn = true // the live set only: not the shadow set, not replay
	if in.live, err = rules.NewLive(rulesDir, ropts); err != nil {
		return in, fmt.Errorf("rules: %w", err)
	}
	in.live.SetLogger(log)
	if in.accounts, err = auth.Open(cfg.Data); err != nil {
		return in, err
	}
	in.accounts.SetRehash(cfg.Migration.Rehash())
	in.accounts.SetLogger(log)
	quota := int64(cfg.Quota)
	trainer, err := junkTrainer(in.live, cfg.Data)
	if err != nil {
		return in, err
	}
	in.bayes = &bayesMetrics{Trainer: trainer} // counts the moves' learns (serve_bayes_metrics.go)
	if in.book, err = sender.OpenBook(filepath.Join(cfg.Data, sender.DefaultBookFile)); err != nil {
		return in, err
	}
	if in.store, err = store.Open(cfg.Data, store.Options{Hostname: cfg.Hostname, Logger: log, Trainer: in.bayes,
		Quota: func(string) int64 { return quota }, Rescued: in.rescued}); err != nil {
		return in, err
	}
	sender, err := newRelay(cfg, in.dns, log, in.relayTLS())
	if err != nil {
		return in, err
	}
	retry := make([]time.Duration, len(cfg.Queue.Retry))
	for i, d := range cfg.Queue.Retry {
		retry[i] = d.D()
	}
	// A DSN to a sender at one of our domains is delivered here, not sent
	// out to come back through the MX (and its rules).
	if in.forward, err = newForwarder(cfg, in.dns, log); err != nil {
		return in, err
	}
	route := smtp.Router{Domains: cfg.Domains, Accounts: in.accounts, SRS: in.forward.SRS}.Route
	// DSNs are signed with the host's domain keys like submitted mail.
	var signDSN func([]byte) ([]byte, error)
	if s, err := newDKIMSigner(cfg); err != nil {
		return in, fmt.Errorf("dkim: %w", err)
	} else if s != nil {
		signDSN = s.Sign
	}
	if in.queue, err = queue.Open(queue.Dir(cfg.Data), queue.Options{Deliverer: in.sieveDeliverer(route), Relay: sender,
		Hostname: cfg.Hostname, Retry: retry, MaxAge: cfg.Queue.Expire.D(), Route: route, Logger: log,
		SoftBounce: cfg.Migration.SoftBounce, Sign: signDSN}); err != nil {
		return in, err
	}
	in.linkSieveQueue()
	go func() { in.queue.Run(ctx); close(in.bg) }()
	if err = in.startReports(ctx); err != nil {
		return in, err
	}
	tlsConf, err := in.startCerts()
	if err != nil {
		return in, err
	}
	if err = in.openJournal(ctx); err != nil {
		return in, err
	}
	if err = in.startSMTP(tlsConf); err != nil {
		return in, err
	}
	if err = in.startIMAP(tlsConf); err != nil {
		return in, err
	}
	if err = in.startMilter(); err != nil {
		return in, err
	}
	if err = in.startManageSieve(tlsConf); err != nil {
		return in, err
	}
	if err = in.startAdmin(); err != nil {
		return in, err
	}
	in.startWebBackground()
	go in.live.Watch(ctx, 500*time.Millisecond)
	if err = writePID(cfg.Data); err != nil {
		return in, err
	}
	in.pidWritten = true
	return in, nil
}

// openResolver opens the configured resolver; observe, if not nil, is told
// of each exchange with an upstream server.
func openResolver(cfg *config.Config, observe func(resolver.Attempt)) (resolver.Resolver, error) {
	switch {
	case cfg.DNS.Zonefile != "":
		z, err := resolver.LoadZoneFile(cfg.DNS.Zonefile)
		if err != nil {
			return nil, fmt.Errorf("dns.zonefile: %w", err)
		}
		return z, nil
	case len(cfg.DNS.Servers) > 0:
		return resolver.NewClient(resolver.ClientOptions{Servers: cfg.DNS.Servers, Observe: observe})
	}
	servers, err := resolver.ServersFromResolvConf("/etc/resolv.conf")
	if err != nil {
		return nil, err
	}
	return resolver.NewClient(resolver.ClientOptions{Servers: servers, Observe: observe})
}

// rulesDir returns the configured rule directory, or <data>/rules, filled
// the first time with the example rules (and, beside them, the sample
// messages their tests read).
func rulesDir(cfg *config.Config) (string, error) {
	if cfg.Rules != "" {
		return cfg.Rules, nil
	}
	dir := filepath.Join(cfg.Data, "rules")
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	for _, sub := range []string{"messages", "rules"} { // rules last: its presence means done
		tree, err := fs.Sub(examples.Files, sub)
		if err == nil {
			err = os.CopyFS(filepath.Join(cfg.Data, sub), tree)
		}
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("writing the example rules: %w", err)
		}
	}
	return dir, nil
}

func newRelay(cfg *config.Config, dns resolver.Resolver, log *slog.Logger, mods ...func(*relay.Options)) (*relay.Client, error) {
	opts := relay.Options{Resolver: dns, Hostname: cfg.Hostname, Port: cfg.Relay.Port, Logger: log}
	if sh := cfg.Relay.Smarthost; sh != nil {
		opts.Smarthost = &relay.Smarthost{Host: sh.Host, Port: sh.Port, TLS: relay.TLSMode(sh.TLS), Username: sh.Username}
		if sh.PasswordFile != "" {
			b, err := os.ReadFile(sh.PasswordFile)
			if err != nil {
				return nil, fmt.Errorf("relay.smarthost.password_file: %w", err)
			}
			opts.Smarthost.Password = strings.TrimRight(strings.SplitN(string(b), "\n", 2)[0], "\r")
		}
	}
	for _, m := range mods {
		m(&opts)
	}
	return relay.New(opts)
}

func (in *instance) startSMTP(tlsConf *tls.Config) error {
	cfg := in.cfg
	var signer smtp.Signer
	s, err := newDKIMSigner(cfg)
	if err != nil {
		return fmt.Errorf("dkim: %w", err)
	}
	if s != nil {
		signer = s
	}
	in.headroom = in.newHeadroom()
	in.smtp, err = smtp.New(smtp.Options{
		Hostname: cfg.Hostname, Domains: cfg.Domains, Queue: in.queue, Accounts: in.accounts,
		Pipeline: func(name string) *engine.Pipeline { return in.live.Current().Pipeline(name) },
		Quota:    in.store, Signer: signer, TLS: tlsConf, Headroom: in.headroom,
		MaxMessageBytes: int64(cfg.Limits.MessageSize), MaxHeaderBytes: int64(cfg.Limits.HeaderSize),
		MaxDataInFlight: int64(cfg.Limits.DataInFlight),
		MaxLineLength:   cfg.Limits.LineLength, MaxRecipients: cfg.Limits.Recipients,
		MaxConnections: cfg.Limits.Connections, MaxConnsPerIP: cfg.Limits.ConnectionsPerIP,
		MaxAuthFailures: cfg.Limits.AuthFailuresPerIP, AuthBan: cfg.Limits.AuthBan.D(), Bans: in.state,
		Timeout: cfg.Limits.Timeouts.Command.D(), GreetDelay: cfg.Limits.GreetDelay.D(),
		RequireFromMatch: cfg.Submission.FromMatch(), Logger: in.log,
		Forward: in.forward, Reports: in.smtpReports(), Journal: in.smtpJournal(), Shadow: in.smtpShadow(), Sent: in.sent,
		DNSDegraded: in.dnsHealth.Degraded, Verdicts: in.verdicts,
		SoftBounce: cfg.Migration.SoftBounce,
	})
	if err != nil {
		return err
	}
	for _, l := range []struct{ kind, addr string }{
		{smtp.MX, cfg.Listen.SMTP}, {smtp.Submission, cfg.Listen.Submission}, {smtp.Submissions, cfg.Listen.Submissions},
	} {
		if l.addr == "" {
			continue
		}
		a, err := in.smtp.Listen(l.kind, l.addr)
		if err != nil {
			return err
		}
		in.addrs = append(in.addrs, fmt.Sprintf("%-12s %s", l.kind, a))
	}
	return nil
}

func (in *instance) startIMAP(tlsConf *tls.Config) error {
	cfg := in.cfg
	if cfg.Listen.IMAP == "" && cfg.Listen.IMAPS == "" {
		return nil
	}
	srv, err := imap.New(imap.Options{Store: in.store, Auth: in.accounts, TLSConfig: tlsConf, Logger: in.log})
	if err != nil {
		return err
	}
	in.imap = append(in.imap, srv)
	for _, l := range []struct {
		kind, addr string
		tls        bool
	}{{"imap", cfg.Listen.IMAP, false}, {"imaps", cfg.Listen.IMAPS, true}} {
		if l.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			return fmt.Errorf("%s: %w", l.kind, err)
		}
		if l.tls {
			go srv.ServeTLS(ln)
		} else {
			go srv.Serve(ln)
		}
		in.addrs = append(in.addrs, fmt.Sprintf("%-12s %s", l.kind, ln.Addr()))
	}
	return nil
}

func (in *instance) startAdmin() error {
	if in.cfg.Listen.Admin == "" {
		return nil
	}
	var err error
	// The console serves the pages and the queue and quarantine APIs
	// behind its login (serve_console.go).
	mounts := map[string]http.Handler{"/": in.console()}
	in.mountReports(mounts)
	in.admin, err = admin.Listen(in.cfg.Listen.Admin, admin.Options{
		Mount:      mounts,
		Collectors: append(in.collectors(), in.shadowCollectors()...),
		// No Health: a full disk shows on /readyz (serve_health.go), not on
		// the liveness probe, so that an orchestrator does not restart a
		// server that restarting cannot help.
		Ready:  in.readiness,
		Reload: in.reload,
		Logger: in.log,
	})
	if err != nil {
		return err
	}
	in.addrs = append(in.addrs, fmt.Sprintf("%-12s http://%s/ (console, healthz, readyz, metrics, POST reload)", "admin", in.admin.Addr))
	return nil
}

// reload rebuilds the rules (and their lists); a broken set is refused and
// the running one stays.
func (in *instance) reload() error { return in.live.Reload() }

// stop stops accepting, lets sessions finish within bound, then stops the
// delivery workers and closes the spool and the store. Only the first call
// does anything.
func (in *instance) stop(bound time.Duration) { in.stopOnce.Do(func() { in.shutdown(bound) }) }

func (in *instance) shutdown(bound time.Duration) {
	in.stopMilter(bound)
	in.drainSessions(bound)
	in.closeJournal()
	if in.admin != nil {
		in.admin.Close()
	}
	in.stopWeb()
	in.stopManageSieve()
	in.cancel()
	in.stopReports()
	if in.queue != nil {
		<-in.bg
		if err := in.queue.Close(); err != nil {
			in.log.Error("closing the queue", "err", err)
		}
	}
	if in.store != nil {
		in.store.Close()
	}
	in.closeState()
	if in.pidWritten {
		os.Remove(filepath.Join(in.cfg.Data, pidFile))
	}
	in.log.Info("stopped")
}

// banner says what listens where and how to begin.
func (in *instance) banner(w io.Writer, confPath string) {
	fmt.Fprintf(w, "sluice %s: serving %s, data in %s, rules in %s\n", in.cfg.Hostname, strings.Join(in.cfg.Domains, ", "), in.cfg.Data, in.live.Dir())
	for _, a := range in.addrs {
		fmt.Fprintln(w, "  "+a)
	}
	where := "" // the default config: its data directory is ./sluice-data, from here
	if confPath != "" {
		where = "--config " + confPath + " "
	}
	if in.selfTLS {
		fmt.Fprintf(w, "TLS: self-signed certificate in %s\n", filepath.Join(in.cfg.Data, "tls"))
	}
	if len(in.accounts.List()) == 0 {
		fmt.Fprintf(w, "No users yet. Add one (from this directory):\n  sluice user add %syou@%s\n", where, in.cfg.Domains[0])
	} else {
		fmt.Fprintf(w, "%d users. Add another: sluice user add %sADDRESS\n", len(in.accounts.List()), where)
	}
	if in.cfg.Migration.SoftBounce {
		fmt.Fprintln(w, softBounceNotice)
	}
	fmt.Fprintf(w, "Reload the rules: sluice reload %s(or SIGHUP, or just edit them)\n", where)
}

// softBounceNotice is said at startup (banner and log) and by doctor.
const softBounceNotice = "SOFT BOUNCE IS ON (migration: {soft_bounce: true}): permanent refusals are sent as 4xx and bounces stay queued; turn it off once the migration is checked"

const pidFile = "sluice.pid"

func writePID(data string) error {
	p := filepath.Join(data, pidFile)
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

var errNoServer = errors.New("no running server found")

// junkTrainer teaches the Bayes model of the inbound rules (the same Model
// value, shared by path) when the owner moves mail into or out of Junk; with
// no bayes stage in the rules it trains the default model file, which a
// later bayes stage will find.
func junkTrainer(live *rules.Live, data string) (bayes.Trainer, error) {
	if p := live.Current().Pipeline(rules.Inbound); p != nil {
		if st, ok := p.Stages["bayes"].(*bayes.Stage); ok {
			return bayes.Trainer{Model: st.Model()}, nil // the model's autolearner, across reloads
		}
	}
	m, err := bayes.OpenModel(filepath.Join(data, bayes.DefaultModelFile))
	if err != nil {
		return bayes.Trainer{}, fmt.Errorf("bayes model: %w", err)
	}
	return bayes.Trainer{Model: m}, nil
}
