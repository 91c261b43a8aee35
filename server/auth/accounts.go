// Package auth holds sluice's accounts: local users with bcrypt password
// hashes, aliases (an address delivered to other addresses) and a catch-all
// per domain, kept in one YAML file in the data directory. The file is
// rewritten atomically (temp file, fsync, rename, directory fsync) under a
// lock, and a running server notices a changed file by its modification
// time, so `sluice user add` takes effect without a restart. SMTP AUTH
// (RFC 4954) and IMAP LOGIN both check passwords through Authenticate.
package auth

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/goccy/go-yaml"
	"golang.org/x/crypto/bcrypt"
)

// FileName is the accounts file inside the data directory.
const FileName = "accounts.yaml"

// Errors returned to callers; the SMTP and IMAP layers map them to replies.
var (
	ErrBadCredentials = errors.New("auth: invalid user name or password")
	ErrNoSuchUser     = errors.New("auth: no such user")
	ErrExists         = errors.New("auth: user already exists")
)

// User is one account as stored.
type User struct {
	// Password is a bcrypt hash, or a hash imported from another server
	// in Dovecot's "{SCHEME}hash" notation (see hashes.go).
	Password string `yaml:"password"`
	// Disabled, when set, says why the account cannot log in (an imported
	// hash of a scheme sluice cannot verify); mail is still delivered.
	// `sluice user passwd` clears it.
	Disabled string `yaml:"disabled,omitempty"`
	// Admin lets the user log in to the web console of the admin listener.
	Admin bool `yaml:"admin,omitempty"`
}

// file is the accounts file. A catch-all is the alias "@domain".
type file struct {
	Users   map[string]User     `yaml:"users"`
	Aliases map[string][]string `yaml:"aliases"`
}

// Accounts is the account database of one data directory. It is safe for
// concurrent use and reloads itself when the file changes on disk.
type Accounts struct {
	path   string
	keep   bool         // keep foreign hashes on login instead of re-hashing
	logger *slog.Logger // for re-hash failures; nil is slog.Default()

	mu   sync.RWMutex
	cur  *file
	info os.FileInfo // of the file last read; nil when there was none
}

// Open returns the accounts of dataDir. A missing file is an empty
// database; it is created by the first change.
func Open(dataDir string) (*Accounts, error) {
	a := &Accounts{path: filepath.Join(dataDir, FileName), cur: &file{}}
	if err := a.reload(true); err != nil {
		return nil, err
	}
	return a, nil
}

// Path returns the accounts file path.
func (a *Accounts) Path() string { return a.path }

// snapshot returns the current data, reloading it first if the file's
// modification time or size changed. A file that fails to parse keeps the
// previous data (and logs nothing here: the CLI reports its own errors).
func (a *Accounts) snapshot() *file {
	_ = a.reload(false)
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.cur
}

func (a *Accounts) reload(force bool) error {
	st, err := os.Stat(a.path)
	if errors.Is(err, os.ErrNotExist) {
		a.mu.Lock()
		a.cur, a.info = &file{}, nil
		a.mu.Unlock()
		return nil
	}
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	a.mu.RLock()
	old := a.info
	same := old != nil && os.SameFile(old, st) && st.ModTime().Equal(old.ModTime()) && st.Size() == old.Size()
	a.mu.RUnlock()
	if same && !force {
		return nil
	}
	f, err := readFile(a.path)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.cur, a.info = f, st
	a.mu.Unlock()
	return nil
}

func readFile(path string) (*file, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	var f file
	if err := yaml.UnmarshalWithOptions(data, &f, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("auth: %s: %s", path, yaml.FormatError(err, false, false))
	}
	return &f, nil
}

// Normalize lower-cases an address and drops a trailing dot on its domain,
// the form every key of the accounts file has.
func Normalize(addr string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(addr)), ".")
}

// dummyHash is compared against when the user does not exist, so that a
// failed login takes as long for an unknown user as for a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("sluice-dummy-password"), bcrypt.MinCost+6)

// Authenticate checks a user's password. It returns ErrBadCredentials for
// an unknown user, a disabled account or a wrong password alike. A
// correct password against an imported hash replaces that hash with
// sluice's own, unless SetRehash(false) was called.
func (a *Accounts) Authenticate(user, pass string) error {
	addr := Normalize(user)
	u, ok := a.snapshot().Users[addr]
	if !ok || u.Disabled != "" {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(pass))
		return ErrBadCredentials
	}
	if !verifyHash(u.Password, pass) {
		return ErrBadCredentials
	}
	if isForeign(u.Password) && !a.keep {
		a.rehash(addr, u.Password, pass)
	}
	return nil
}

// SetRehash chooses whether a successful login against an imported hash
// replaces it with a bcrypt hash (the default, true). Keeping the foreign
// hashes lets the old server's password file stay in step during a
// migration's first days.
func (a *Accounts) SetRehash(on bool) { a.keep = !on }

// SetLogger sets where re-hash failures are logged.
func (a *Accounts) SetLogger(l *slog.Logger) { a.logger = l }

// rehash stores a bcrypt hash of pass for addr if its password is still
// old: a password changed meanwhile is left alone. A failure only logs:
// the login it follows has succeeded.
func (a *Accounts) rehash(addr, old, pass string) {
	h, err := bcrypt.GenerateFromPassword([]byte(pass), HashCost)
	if err == nil {
		err = a.update(func(f *file) error {
			if u, ok := f.Users[addr]; ok && u.Password == old {
				u.Password = string(h)
				f.Users[addr] = u
			}
			return nil
		})
	}
	l := a.logger
	if l == nil {
		l = slog.Default()
	}
	if err != nil {
		l.Warn("auth: could not replace an imported password hash", "user", addr, "err", err)
		return
	}
	scheme, _ := SplitScheme(old)
	l.Info("auth: imported password hash replaced by bcrypt", "user", addr, "was", scheme)
}

// Exists reports whether user is an account.
func (a *Accounts) Exists(user string) bool {
	_, ok := a.snapshot().Users[Normalize(user)]
	return ok
}

// UserInfo describes one account for listings.
type UserInfo struct {
	Address string
	Aliases []string // addresses (and "@domain" catch-alls) that deliver to it
}

// List returns the accounts, sorted, with the aliases that point at each.
func (a *Accounts) List() []UserInfo {
	f := a.snapshot()
	out := make([]UserInfo, 0, len(f.Users))
	for u := range f.Users {
		info := UserInfo{Address: u}
		for al, targets := range f.Aliases {
			for _, t := range targets {
				if Normalize(t) == u {
					info.Aliases = append(info.Aliases, al)
				}
			}
		}
		sort.Strings(info.Aliases)
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out
}

// Aliases returns a copy of the alias table.
func (a *Accounts) Aliases() map[string][]string {
	f := a.snapshot()
	out := make(map[string][]string, len(f.Aliases))
	for k, v := range f.Aliases {
		out[k] = append([]string(nil), v...)
	}
	return out
}
