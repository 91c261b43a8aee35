package main

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/sluicemail/sluice/server/config"
	"github.com/sluicemail/sluice/server/forward"
	"github.com/sluicemail/sluice/server/reports"
	"github.com/sluicemail/sluice/server/smtp"
	"github.com/sluicemail/sluice/stages/resolver"
)

// Wiring of DMARC aggregate reports: the store the SMTP sessions record
// into and take received reports into, the daily send, and the admin
// endpoint `sluice dmarc send` uses while the server runs.

// forwardParts are the instance's forwarding and DMARC report parts.
type forwardParts struct {
	forward      *forward.Forwarder // SRS and ARC for forwarded mail
	dmarcReports *reports.Store     // DMARC evaluations and received reports; nil: off
	dmarcSender  *reports.Sender    // nil: reports are not sent
	dmarcDone    chan struct{}      // closed when the daily sender has returned
}

// startReports opens the reports store when reports are on or a rua
// address is set, and starts the daily send.
func (in *instance) startReports(ctx context.Context) error {
	cfg := in.cfg
	if !cfg.DMARC.Reports && cfg.DMARC.RUA == "" {
		return nil
	}
	var err error
	if in.dmarcReports, err = reports.Open(reports.Dir(cfg.Data), reports.Options{Address: cfg.DMARC.RUA, Logger: in.log}); err != nil {
		return err
	}
	if !cfg.DMARC.Reports {
		return nil // receiving only
	}
	if in.dmarcSender, err = newReportSender(cfg, in.dmarcReports, in.dns, in.queue); err != nil {
		return err
	}
	in.dmarcDone = make(chan struct{})
	go func() { defer close(in.dmarcDone); in.dailyReports(ctx) }()
	return nil
}

// newReportSender builds the sender of our reports, DKIM-signing them
// with the configured keys.
func newReportSender(cfg *config.Config, st *reports.Store, dns resolver.Resolver, q reports.Queue) (*reports.Sender, error) {
	s := &reports.Sender{Store: st, DNS: dns, Queue: q, OrgName: cfg.Hostname, From: cfg.DMARC.From, Hostname: cfg.Hostname}
	signer, err := newDKIMSigner(cfg)
	if err != nil {
		return nil, err
	}
	if signer != nil {
		s.Signer = signer
	}
	return s, nil
}

// dailyReports sends the reports of the finished UTC days: once at start
// (the days the server was down for) and then a few minutes after each
// UTC midnight.
func (in *instance) dailyReports(ctx context.Context) {
	for {
		today := time.Now().UTC().Truncate(24 * time.Hour)
		if out, err := in.dmarcSender.Send(ctx, today, false); err != nil {
			in.log.Warn("dmarc reports not sent", "err", err)
		} else if len(out) > 0 {
			in.log.Info("dmarc reports sent", "reports", len(out))
		}
		wait := time.Until(today.Add(24*time.Hour + 5*time.Minute))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// smtpReports is the store as the SMTP server takes it (nil stays nil:
// a nil *Store in the interface would not be).
func (in *instance) smtpReports() smtp.Reports {
	if in.dmarcReports == nil {
		return nil
	}
	return in.dmarcReports
}

// mountReports adds POST /dmarc/send[?dry-run=1] to the admin listener:
// `sluice dmarc send` asks the running server, which owns the store and
// the queue.
func (in *instance) mountReports(mounts map[string]http.Handler) {
	mounts["/dmarc/send"] = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		if in.dmarcSender == nil {
			http.Error(w, "DMARC reports are off (dmarc: {reports: true} in the config)", http.StatusConflict)
			return
		}
		out, err := in.dmarcSender.Send(r.Context(), time.Now(), r.URL.Query().Get("dry-run") != "")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	})
}

// stopReports waits for a send in progress (ctx is cancelled by then) and
// closes the store.
func (in *instance) stopReports() {
	if in.dmarcDone != nil {
		<-in.dmarcDone
	}
	if in.dmarcReports != nil {
		in.dmarcReports.Close()
	}
}
