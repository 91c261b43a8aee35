package store

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Options tunes a Store. The zero value is usable.
type Options struct {
	// Hostname goes into unique file names; default os.Hostname().
	Hostname string
	// Logger receives index rebuilds and repairs; default slog.Default().
	Logger *slog.Logger
	// Quota returns a user's storage limit in bytes, 0 for none. nil
	// means no user has a limit.
	Quota func(user string) int64
	// Rescan is how often mailboxes that are open over IMAP are checked
	// for files added, removed or renamed from outside (a hand copy, mutt
	// on the server); default 10s. Deliveries through the Store are seen
	// at once, and where inotify works outside changes within a second.
	Rescan time.Duration
	// Trainer, if set, learns messages moved into (spam) and out of (ham)
	// the Junk mailbox.
	Trainer Trainer
	// Rescued, if set, is told of every message a user moves out of Junk
	// (but not to Trash), with its bytes: the sender of mail a user
	// rescued is someone whose mail they want.
	Rescued func(user string, raw []byte)
}

// Store is the mailbox store of every local user: a Maildir++ tree under
// <data>/mail and, per user, an index the IMAP server needs. It is safe for
// concurrent use; deliveries to different mailboxes, and to the same one,
// run in parallel.
type Store struct {
	root  string
	opts  Options
	log   *slog.Logger
	names *namer
	dirs  dirSyncer
	made  sync.Map // mailbox directory -> struct{}, known to exist
	users sync.Map // user -> *userState
	watch watcher

	// lazyFrom is how many new files a sync indexes lazily, fillDelay
	// how long fill waits before it reads them and fillWaitMax how long
	// it waits at most for a pause in the commands (lazy.go); tests
	// change them.
	lazyFrom    int
	fillDelay   time.Duration
	fillWaitMax time.Duration

	accMu    sync.Mutex
	accounts map[string]*Account
	closed   bool
}

// userState is the per-user state that deliveries touch: the usage
// counter. Its lock is held only around renames, never around an fsync.
type userState struct {
	mu    sync.Mutex
	known bool
	usage int64
}

// Open opens (creating if needed) the mail store under dataDir/mail.
func Open(dataDir string, opts Options) (*Store, error) {
	root := filepath.Join(dataDir, "mail")
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Rescan <= 0 {
		opts.Rescan = 10 * time.Second
	}
	s := &Store{
		root:        root,
		opts:        opts,
		log:         opts.Logger,
		names:       newNamer(opts.Hostname),
		accounts:    map[string]*Account{},
		lazyFrom:    lazyFrom,
		fillDelay:   fillDelay,
		fillWaitMax: fillWaitMax,
	}
	s.watch.s = s
	return s, nil
}

// Root returns the directory that holds every user's Maildir.
func (s *Store) Root() string { return s.root }

// UserDir returns the Maildir of user (<root>/<domain>/<localpart>),
// checking the address.
func (s *Store) UserDir(user string) (string, error) {
	rel, err := userPath(user)
	if err != nil {
		return "", err
	}
	return filepath.Join(s.root, rel), nil
}

// MailboxDir returns the Maildir++ directory of mailbox of user, checking
// both names; it does not create it.
func (s *Store) MailboxDir(user, mailbox string) (string, error) {
	dir, err := s.UserDir(user)
	if err != nil {
		return "", err
	}
	clean, err := CleanName(mailbox)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, folderDir(clean)), nil
}

func (s *Store) user(user string) *userState {
	if u, ok := s.users.Load(user); ok {
		return u.(*userState)
	}
	u, _ := s.users.LoadOrStore(user, &userState{})
	return u.(*userState)
}

// Close closes every open index. Deliveries after Close still work; IMAP
// use does not.
func (s *Store) Close() error {
	s.accMu.Lock()
	accs := s.accounts
	s.accounts = map[string]*Account{}
	s.closed = true
	s.accMu.Unlock()
	var first error
	for _, a := range accs {
		if err := a.close(); err != nil && first == nil {
			first = err
		}
	}
	s.watch.close()
	return first
}
