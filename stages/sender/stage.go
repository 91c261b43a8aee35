package sender

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages"
)

func init() { stages.Register("sender", New) }

// Settings is the `stages: {sender: ...}` block of a rule file.
type Settings struct {
	// Book is the file of known correspondents, relative to the data
	// directory. Default: senders.db.
	Book string `yaml:"book"`
}

// DefaultBookFile is where the server keeps the book.
const DefaultBookFile = "senders.db"

// Stage fills sender.known from the book.
type Stage struct {
	book *Book // nil outside a server (no data directory): nobody is known
}

// New builds the stage. Without a data directory (a dry run of the rules)
// there is no book, and sender.known is false. A dry run given the data
// directory (sluice check --data, a replay, a shadow set) reads the book
// without creating or locking it for writing; when the running server
// holds it, the dry run goes on with nobody known and says so, rather
// than fail.
func New(s stages.Settings) (engine.Stage, error) {
	set := Settings{Book: DefaultBookFile}
	if err := s.Decode(&set); err != nil {
		return nil, fmt.Errorf("sender settings: %w", err)
	}
	if s.DataDir == "" {
		return &Stage{}, nil
	}
	path := set.Book
	if !filepath.IsAbs(path) {
		path = filepath.Join(s.DataDir, path)
	}
	if !s.Learn {
		b, err := OpenBookToRead(path)
		if errors.Is(err, errBookBusy) {
			slog.Warn("sender book in use by the running server: sender.known is false in this dry run", "err", err)
			return &Stage{}, nil
		}
		if err != nil {
			return nil, err
		}
		return &Stage{book: b}, nil
	}
	b, err := OpenBook(path)
	if err != nil {
		return nil, err
	}
	return &Stage{book: b}, nil
}

// NewStage returns a stage over a book.
func NewStage(b *Book) *Stage { return &Stage{book: b} }

// Namespace implements engine.Stage.
func (s *Stage) Namespace() string { return "sender" }

// Phase implements engine.Stage: the From header is needed.
func (s *Stage) Phase() engine.Phase { return engine.PhaseData }

// Run implements engine.Stage: known when any recipient corresponds with
// the From address or the envelope sender.
func (s *Stage) Run(ctx context.Context, in *engine.Input) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f := &in.Facts.Sender
	f.Known = false
	if s.book == nil {
		return nil
	}
	env := in.Msg.Envelope
	from := []string{FromOf(in.Msg.Raw), env.MailFrom}
	for _, rcpt := range env.Rcpt {
		for _, a := range from {
			ok, err := s.book.Known(rcpt, a)
			if err != nil {
				return err
			}
			if ok {
				f.Known = true
				return nil
			}
		}
	}
	return nil
}

// Fail implements engine.Stage: an unreadable book knows nobody.
func (s *Stage) Fail(f *engine.Facts, err error) { f.Sender = engine.SenderFacts{} }
