package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrExists reports a mailbox that already exists.
var ErrExists = errors.New("mailbox already exists")

// ErrInbox reports an operation INBOX does not allow (DELETE, RENAME).
var ErrInbox = errors.New("not allowed on INBOX")

// ErrNoMessage reports a UID that is not in the mailbox.
var ErrNoMessage = errors.New("no such message")

// Account is one user's open mail: the index and the mailboxes in use over
// IMAP. Sessions of the same user share one Account; it stays open until
// the Store is closed.
type Account struct {
	s    *Store
	user string
	dir  string
	db   *bolt.DB

	mu    sync.Mutex
	boxes map[string]*Mailbox

	// busy counts the sessions' commands in progress on the account's
	// mail and idleSince is when the last one ended (Unix ns): fill waits
	// for a pause (Busy, lazy.go). The account, not the mailbox: an
	// APPEND to another mailbox commits to the same index file, and
	// fill's commits made it wait.
	busy      atomic.Int32
	idleSince atomic.Int64
}

// Account opens the mail of user (creating the standard mailboxes on
// first use) with its index, rebuilt from the Maildir if it is missing or
// unreadable.
func (s *Store) Account(user string) (*Account, error) {
	user = strings.ToLower(user)
	s.accMu.Lock()
	defer s.accMu.Unlock()
	if s.closed {
		return nil, errors.New("store: closed")
	}
	if a := s.accounts[user]; a != nil {
		return a, nil
	}
	if err := s.EnsureUser(user); err != nil {
		return nil, err
	}
	dir, _ := s.UserDir(user)
	db, fresh, err := s.openIndex(dir)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", user, err)
	}
	a := &Account{s: s, user: user, dir: dir, db: db, boxes: map[string]*Mailbox{}}
	if fresh {
		// Clients such as Thunderbird show only subscribed mailboxes: a
		// new (or rebuilt) index subscribes to every existing one, as
		// Dovecot's autosubscribe does for the special ones.
		names, _ := a.List()
		for _, n := range names {
			a.SetSubscribed(n, true)
		}
	}
	s.accounts[user] = a
	return a, nil
}

// User returns the account's address.
func (a *Account) User() string { return a.user }

func (a *Account) close() error {
	a.mu.Lock()
	for _, m := range a.boxes {
		m.stop()
	}
	a.boxes = map[string]*Mailbox{}
	a.mu.Unlock()
	return a.db.Close()
}

// changed is called after the store itself put a message into a mailbox,
// so that IMAP sessions on it learn of it at once.
func (s *Store) changed(user string, st stored) {
	s.accMu.Lock()
	a := s.accounts[user]
	s.accMu.Unlock()
	if a == nil {
		return
	}
	a.mu.Lock()
	m := a.boxes[st.mailbox]
	a.mu.Unlock()
	if m != nil {
		m.poke(st)
	}
}

// Mailbox opens a mailbox by name (any case of INBOX, UTF-8).
func (a *Account) Mailbox(name string) (*Mailbox, error) {
	clean, err := CleanName(name)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if m := a.boxes[clean]; m != nil {
		return m, nil
	}
	m, err := a.loadMailbox(clean)
	if err != nil {
		return nil, err
	}
	a.boxes[clean] = m
	return m, nil
}

// List returns the names of the account's mailboxes, INBOX first and the
// rest sorted.
func (a *Account) List() ([]string, error) {
	entries, err := os.ReadDir(a.dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if name, ok := nameOfDir(e.Name()); ok && e.IsDir() {
			if st, err := os.Stat(filepath.Join(a.dir, e.Name(), "cur")); err == nil && st.IsDir() {
				names = append(names, name)
			}
		}
	}
	sort.Strings(names)
	return append([]string{Inbox}, names...), nil
}

// Create makes a mailbox and any missing parents of it.
func (a *Account) Create(name string) error {
	clean, err := CleanName(name)
	if err != nil {
		return err
	}
	if a.exists(clean) {
		return fmt.Errorf("%w: %s", ErrExists, clean)
	}
	parts := strings.Split(clean, string(Delim))
	for i := 1; i <= len(parts); i++ {
		if err := a.s.ensureMailbox(a.dir, strings.Join(parts[:i], string(Delim))); err != nil {
			return err
		}
	}
	return nil
}

func (a *Account) exists(clean string) bool {
	st, err := os.Stat(filepath.Join(a.dir, folderDir(clean), "cur"))
	return err == nil && st.IsDir()
}

// Delete removes a mailbox and its messages; its children stay (Maildir++
// keeps them in their own directories). INBOX cannot be deleted.
func (a *Account) Delete(name string) error {
	clean, err := CleanName(name)
	if err != nil {
		return err
	}
	if clean == Inbox {
		return ErrInbox
	}
	if !a.exists(clean) {
		return fmt.Errorf("%w: %s", ErrNoMailbox, clean)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if m := a.boxes[clean]; m != nil {
		m.stop()
		delete(a.boxes, clean)
	}
	dir := filepath.Join(a.dir, folderDir(clean))
	// Rename first, so the deletion is atomic for readers; the name has no
	// leading dot and so is never taken for a mailbox.
	trash := filepath.Join(a.dir, fmt.Sprintf("deleted-%d-%s", time.Now().UnixNano(), folderDir(clean)[1:]))
	if err := os.Rename(dir, trash); err != nil {
		return err
	}
	a.s.forget(dir)
	fsyncDir(a.dir)
	err = a.db.Update(func(tx *bolt.Tx) error {
		return ignoreNotFound(tx.Bucket(bBoxes).DeleteBucket([]byte(clean)))
	})
	os.RemoveAll(trash)
	a.s.recount(a.user)
	return err
}

// Rename renames a mailbox and the mailboxes under it, keeping their
// UIDs. INBOX cannot be renamed.
func (a *Account) Rename(from, to string) error {
	src, err := CleanName(from)
	if err != nil {
		return err
	}
	dst, err := CleanName(to)
	if err != nil {
		return err
	}
	if src == Inbox || dst == Inbox {
		return ErrInbox
	}
	if !a.exists(src) {
		return fmt.Errorf("%w: %s", ErrNoMailbox, src)
	}
	if a.exists(dst) {
		return fmt.Errorf("%w: %s", ErrExists, dst)
	}
	if strings.HasPrefix(dst, src+string(Delim)) {
		return fmt.Errorf("%w: cannot move %s under itself", ErrBadName, src)
	}
	names, err := a.List()
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, n := range names {
		if n != src && !strings.HasPrefix(n, src+string(Delim)) {
			continue
		}
		nn := dst + n[len(src):]
		if m := a.boxes[n]; m != nil {
			m.stop()
			delete(a.boxes, n)
		}
		oldDir, newDir := filepath.Join(a.dir, folderDir(n)), filepath.Join(a.dir, folderDir(nn))
		if err := os.Rename(oldDir, newDir); err != nil {
			return err
		}
		a.s.forget(oldDir)
		if err := a.db.Update(func(tx *bolt.Tx) error { return moveBucket(tx, n, nn) }); err != nil {
			return err
		}
	}
	// Parents of the new name exist, as after CREATE.
	parts := strings.Split(dst, string(Delim))
	for i := 1; i < len(parts); i++ {
		if err := a.s.ensureMailbox(a.dir, strings.Join(parts[:i], string(Delim))); err != nil {
			return err
		}
	}
	return fsyncDir(a.dir)
}

func moveBucket(tx *bolt.Tx, from, to string) error {
	boxes := tx.Bucket(bBoxes)
	src := boxes.Bucket([]byte(from))
	if src == nil {
		return nil
	}
	dst, err := boxes.CreateBucket([]byte(to))
	if err != nil {
		return err
	}
	if err := copyBucket(src, dst); err != nil {
		return err
	}
	return boxes.DeleteBucket([]byte(from))
}

func copyBucket(src, dst *bolt.Bucket) error {
	return src.ForEach(func(k, v []byte) error {
		if v != nil {
			return dst.Put(k, v)
		}
		sub, err := dst.CreateBucketIfNotExists(k)
		if err != nil {
			return err
		}
		return copyBucket(src.Bucket(k), sub)
	})
}

func ignoreNotFound(err error) error {
	if errors.Is(err, bolt.ErrBucketNotFound) {
		return nil
	}
	return err
}

// SetSubscribed subscribes to or unsubscribes from a mailbox name (which
// need not exist, as RFC 3501 allows).
func (a *Account) SetSubscribed(name string, on bool) error {
	clean, err := CleanName(name)
	if err != nil {
		return err
	}
	return a.db.Update(func(tx *bolt.Tx) error {
		if on {
			return tx.Bucket(bSubs).Put([]byte(clean), []byte{1})
		}
		return tx.Bucket(bSubs).Delete([]byte(clean))
	})
}

// Subscriptions returns the subscribed names.
func (a *Account) Subscriptions() (map[string]bool, error) {
	subs := map[string]bool{}
	err := a.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bSubs).ForEach(func(k, _ []byte) error {
			subs[string(k)] = true
			return nil
		})
	})
	return subs, err
}

// Usage returns the bytes stored for the account.
func (a *Account) Usage() (int64, error) { return a.s.Usage(a.user) }

// recount forgets the usage of user so the next Usage counts it again.
func (s *Store) recount(user string) {
	u := s.user(user)
	u.mu.Lock()
	u.known = false
	u.mu.Unlock()
}
