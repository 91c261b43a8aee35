// Package scripts keeps each user's Sieve scripts in Dovecot's layout,
// so that a migrated home directory works unchanged: the scripts are
// <home>/sieve/NAME.sieve and the active one is the symbolic link
// <home>/.dovecot.sieve pointing at it. Every script is compiled when it
// is stored, and a broken one is refused then; delivery takes the
// compiled active script from a cache.
package scripts

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sluicemail/sluice/server/sieve"
)

// Errors callers tell apart (ManageSieve answers each with its own
// response code).
var (
	ErrNotFound = errors.New("no such script")
	ErrActive   = errors.New("the active script cannot be deleted")
	ErrExists   = errors.New("a script of that name exists")
	ErrBadName  = errors.New("invalid script name")
	ErrQuota    = errors.New("over the script quota")
	// ErrMaxSize and ErrMaxScripts say which quota; both are ErrQuota.
	ErrMaxSize    = fmt.Errorf("%w: script too large", ErrQuota)
	ErrMaxScripts = fmt.Errorf("%w: too many scripts", ErrQuota)
)

const (
	scriptDir  = "sieve"
	activeLink = ".dovecot.sieve"
	ext        = ".sieve"
)

// Store is the scripts of every user. It is safe for concurrent use.
type Store struct {
	home   func(user string) (string, error)
	limits sieve.Limits

	// MaxScripts and MaxSize bound what one user may store (HAVESPACE).
	MaxScripts int
	MaxSize    int

	mu    sync.Mutex
	cache map[string]cached // by user
}

type cached struct {
	path   string
	mtime  time.Time
	size   int64
	script *sieve.Script
}

// New returns the store whose user directories home gives
// (store.Store.UserDir).
func New(home func(user string) (string, error), lim sieve.Limits) *Store {
	return &Store{home: home, limits: lim, MaxScripts: 32, MaxSize: 1 << 20, cache: map[string]cached{}}
}

// Info is one script of a user.
type Info struct {
	Name   string
	Active bool
}

// CheckName refuses names that cannot be file names or would hide in
// the directory listing.
func CheckName(name string) error {
	if name == "" || len(name) > 200 || !utf8.ValidString(name) || strings.HasPrefix(name, ".") ||
		strings.ContainsAny(name, "/\\") || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return fmt.Errorf("%w: %q", ErrBadName, name)
	}
	return nil
}

func (s *Store) dir(user string) (string, error) {
	home, err := s.home(strings.ToLower(user))
	if err != nil {
		return "", err
	}
	return home, nil
}

func (s *Store) path(user, name string) (home, path string, err error) {
	if err := CheckName(name); err != nil {
		return "", "", err
	}
	home, err = s.dir(user)
	if err != nil {
		return "", "", err
	}
	return home, filepath.Join(home, scriptDir, name+ext), nil
}

// Check compiles src and returns the first fault, with its position.
func (s *Store) Check(src string) (*sieve.Script, error) {
	return sieve.Compile(src, s.limits)
}

// List returns the user's scripts, sorted by name.
func (s *Store) List(user string) ([]Info, error) {
	home, err := s.dir(user)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(home, scriptDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	active := activeName(home)
	var out []Info
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ext)
		if !ok || e.IsDir() || CheckName(name) != nil {
			continue
		}
		out = append(out, Info{Name: name, Active: name == active})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// activeName reads the active link; "" when there is none or it points
// outside the script directory.
func activeName(home string) string {
	target, err := os.Readlink(filepath.Join(home, activeLink))
	if err != nil {
		return ""
	}
	dir, file := filepath.Split(target)
	if filepath.Clean(dir) != scriptDir {
		return ""
	}
	name, _ := strings.CutSuffix(file, ext)
	return name
}

// Get returns a script's text.
func (s *Store) Get(user, name string) (string, error) {
	_, p, err := s.path(user, name)
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return "", ErrNotFound
	}
	return string(data), err
}
