// Command harness is the smallest mail server built from sluice's parts,
// for the crash test and the load benchmark when `sluice serve` is not
// used: a go-smtp listener that accepts mail for one local domain and
// answers 250 only after queue.Put (fsynced spool), the queue, and local
// delivery into the Maildir store. No rules, no checks: it measures the
// spool and the store.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/sluicemail/sluice/server/queue"
	"github.com/sluicemail/sluice/server/store"
)

func main() {
	data := flag.String("data", "harness-data", "data directory")
	listen := flag.String("listen", "127.0.0.1:2525", "SMTP listen address")
	domain := flag.String("domain", "local.test", "local domain")
	workers := flag.Int("workers", 32, "delivery workers")
	segment := flag.Int64("segment", 0, "spool segment size in bytes (0: the queue's default); small values stress segment rotation and deletion")
	verbose := flag.Bool("v", false, "log every queue event")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file until shutdown")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}

	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	st, err := store.Open(*data, store.Options{Logger: log})
	if err != nil {
		fatal(err)
	}
	q, err := queue.Open(queue.Dir(*data), queue.Options{Deliverer: st, Hostname: "harness.test", Workers: *workers,
		SegmentSize: *segment, Logger: log})
	if err != nil {
		fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	done := make(chan struct{})
	go func() { q.Run(ctx); close(done) }()

	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{q: q, domain: strings.ToLower(*domain)}, nil
	}))
	srv.Domain = "harness.test"
	srv.ErrorLog = stdlog.New(io.Discard, "", 0) // connections cut by the load generator are expected
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 100
	srv.ReadTimeout, srv.WriteTimeout = time.Minute, time.Minute
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fatal(err)
	}
	go srv.Serve(ln)
	fmt.Fprintf(os.Stderr, "harness: listening on %s, data in %s, pid %d\n", ln.Addr(), *data, os.Getpid())
	<-ctx.Done()
	srv.Close()
	<-done
	q.Close()
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "harness:", err)
	os.Exit(1)
}

type session struct {
	q      *queue.Queue
	domain string
	env    queue.Envelope
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.env = queue.Envelope{From: from}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	at := strings.LastIndexByte(to, '@')
	if at < 0 || strings.ToLower(to[at+1:]) != s.domain {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "relay denied"}
	}
	u := strings.ToLower(to)
	s.env.Rcpt = append(s.env.Rcpt, queue.Recipient{Addr: u, Local: true, User: u})
	return nil
}

func (s *session) Data(r io.Reader) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Received: from load by harness.test; %s\r\n", time.Now().Format(time.RFC1123Z))
	if _, err := b.ReadFrom(r); err != nil {
		return err
	}
	s.env.Received = time.Now()
	if _, err := s.q.Put(context.Background(), s.env, b.Bytes()); err != nil {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "could not queue the message, try again"}
	}
	return nil
}

func (s *session) Reset()        { s.env = queue.Envelope{} }
func (s *session) Logout() error { return nil }
