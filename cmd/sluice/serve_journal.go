package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/rules"
	"github.com/sluicemail/sluice/server/shadow"

	"github.com/sluicemail/sluice/server/config"
	"github.com/sluicemail/sluice/server/journal"
	"github.com/sluicemail/sluice/server/smtp"
)

// journalParts are the instance's verdict journal and shadow rule set.
type journalParts struct {
	journal     *journal.Journal
	shadowRules *rules.Live // config shadow_rules, hot-reloaded like the live rules
	shadow      *shadow.Shadow
}

// journalDir is where the verdict journal lives: always on, under the data
// directory, read by explain, replay and shadow report.
func journalDir(cfg *config.Config) string { return journalDirOf(cfg.Data) }

// journalDirOf is the journal of a data directory.
func journalDirOf(data string) string { return filepath.Join(data, "journal") }

// openJournal opens the verdict journal before the listeners start, and
// the shadow rule set (config shadow_rules) that reads it.
func (in *instance) openJournal(ctx context.Context) error {
	jc := in.cfg.Journal
	j, err := journal.Open(journalDir(in.cfg), journal.Options{Logger: in.log,
		MaxAge: time.Duration(jc.MaxAge), MaxTotal: int64(jc.MaxSize), MaxBody: jc.BodyLimit()})
	if err != nil {
		return err
	}
	in.journal = j
	if in.cfg.ShadowRules == "" {
		return nil
	}
	ropts, err := rulesOptions(in.cfg, in.dns)
	if err != nil {
		return err
	}
	if in.shadowRules, err = rules.NewLive(in.cfg.ShadowRules, ropts); err != nil {
		return fmt.Errorf("shadow_rules: %w", err)
	}
	in.shadowRules.SetLogger(in.log)
	go in.shadowRules.Watch(ctx, 500*time.Millisecond)
	in.shadow = shadow.New(shadow.Options{Journal: j, Logger: in.log,
		Pipeline: func(name string) *engine.Pipeline { return in.shadowRules.Current().Pipeline(name) }})
	return nil
}

// smtpShadow is the shadow rule set as the SMTP server takes it (a nil
// interface when there is none).
func (in *instance) smtpShadow() smtp.Shadow {
	if in.shadow == nil {
		return nil
	}
	return in.shadow
}

// shadowCollectors are the shadow rule set's metrics
// (sluice_shadow_disagreements_total{live,shadow}), none without one.
func (in *instance) shadowCollectors() []prometheus.Collector {
	if in.shadow == nil {
		return nil
	}
	return []prometheus.Collector{in.shadow}
}

// smtpJournal is the journal as the SMTP server takes it (a nil interface
// when there is none, never a typed nil).
func (in *instance) smtpJournal() smtp.Journal {
	if in.journal == nil {
		return nil
	}
	return in.journal
}

// closeJournal syncs and closes the journal after the sessions ended.
func (in *instance) closeJournal() {
	if in.shadow != nil {
		in.shadow.Wait()
	}
	if in.journal == nil {
		return
	}
	if err := in.journal.Close(); err != nil {
		in.log.Error("closing the journal", "err", err)
	}
}
