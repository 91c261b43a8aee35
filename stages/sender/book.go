package sender

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Book is every local user's known correspondents: one bucket per user,
// one key per address, valued with when it was last added. It is safe for
// concurrent use, and shared per file within the process (OpenBook), as a
// bbolt file can be opened once.
type Book struct {
	db *bolt.DB
}

var books = struct {
	sync.Mutex
	open  map[string]*Book // opened to write (OpenBook)
	looks map[string]*Book // opened read-only (OpenBookToRead)
}{open: map[string]*Book{}, looks: map[string]*Book{}}

// OpenBook opens (or creates) the book at path; every caller naming the
// same file shares one Book.
func OpenBook(path string) (*Book, error) { return openBook(path, false) }

// errBookBusy is OpenBookToRead's answer when another process (the
// running server) holds the book.
var errBookBusy = errors.New("in use by another process (the running server)")

// lookTimeout is how long a look at the book waits for another
// process's lock before doing without it.
const lookTimeout = 250 * time.Millisecond

// OpenBookToRead opens the book at path for a look that must not change
// it (a dry run given the data directory): the book this process already
// has open, else the file read-only, else nil when there is no file (it
// is not created). A book the running server holds (bbolt locks the file
// for its one writer) gives errBookBusy after a short wait.
func OpenBookToRead(path string) (*Book, error) { return openBook(path, true) }

// openBook is OpenBook, or with look OpenBookToRead: one Book per file
// and way of opening it, a book opened to write serving looks too.
func openBook(path string, look bool) (*Book, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sender book %s: %w", path, err)
	}
	books.Lock()
	defer books.Unlock()
	if b := books.open[abs]; b != nil {
		return b, nil
	}
	cache, opts := books.open, &bolt.Options{Timeout: 2 * time.Second}
	if look {
		if b := books.looks[abs]; b != nil {
			return b, nil
		}
		if _, err := os.Stat(abs); errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		cache, opts = books.looks, &bolt.Options{ReadOnly: true, Timeout: lookTimeout}
	}
	db, err := bolt.Open(abs, 0o600, opts)
	if look && errors.Is(err, bolt.ErrTimeout) {
		err = errBookBusy
	}
	if err != nil {
		return nil, fmt.Errorf("sender book %s: %w", abs, err)
	}
	b := &Book{db: db}
	cache[abs] = b
	return b, nil
}

// Add records that user corresponds with each address (a recipient the
// user wrote to, the sender of a message the user took out of Junk).
// Addresses that do not parse are skipped.
func (b *Book) Add(user string, addrs ...string) error {
	user = normal(user)
	if user == "" {
		return nil
	}
	var stamp [8]byte
	binary.BigEndian.PutUint64(stamp[:], uint64(time.Now().Unix()))
	return b.db.Update(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucketIfNotExists([]byte(user))
		if err != nil {
			return err
		}
		for _, a := range addrs {
			if a = normal(a); a != "" {
				if err := bk.Put([]byte(a), stamp[:]); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// Known reports whether user corresponds with addr.
func (b *Book) Known(user, addr string) (bool, error) {
	user, addr = normal(user), normal(addr)
	if user == "" || addr == "" {
		return false, nil
	}
	known := false
	err := b.db.View(func(tx *bolt.Tx) error {
		if bk := tx.Bucket([]byte(user)); bk != nil {
			known = bk.Get([]byte(addr)) != nil
		}
		return nil
	})
	return known, err
}

// normal returns the bare address, lower-case, of an address or a header
// value naming one ("Name <a@b>"); "" when there is none.
func normal(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if a, err := mail.ParseAddress(s); err == nil {
		s = a.Address
	}
	s = strings.ToLower(strings.Trim(s, "<>"))
	if !strings.Contains(s, "@") {
		return ""
	}
	return s
}

// FromOf returns the address in a raw message's From header, "" if none
// parses: what a user sees as the sender, and replies to.
func FromOf(raw []byte) string {
	m, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		return ""
	}
	return normal(m.Header.Get("From"))
}
