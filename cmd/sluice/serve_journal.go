package main

import (
	"path/filepath"

	"github.com/sluicemail/sluice/server/config"
	"github.com/sluicemail/sluice/server/journal"
	"github.com/sluicemail/sluice/server/smtp"
)

// journalDir is where the verdict journal lives: always on, under the data
// directory, read by explain, replay and shadow report.
func journalDir(cfg *config.Config) string { return journalDirOf(cfg.Data) }

// journalDirOf is the journal of a data directory.
func journalDirOf(data string) string { return filepath.Join(data, "journal") }

// openJournal opens the verdict journal before the listeners start.
func (in *instance) openJournal() error {
	j, err := journal.Open(journalDir(in.cfg), journal.Options{Logger: in.log})
	if err != nil {
		return err
	}
	in.journal = j
	return nil
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
	if in.journal == nil {
		return
	}
	if err := in.journal.Close(); err != nil {
		in.log.Error("closing the journal", "err", err)
	}
}
