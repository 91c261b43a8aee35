package scripts

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluicemail/sluice/server/sieve"
)

// Active returns the user's active script, compiled, or nil when there
// is none. Scripts were compiled when stored; a script changed on disk
// behind the server's back (by `sluice sieve put` in another process) is
// compiled once when first seen and kept.
func (s *Store) Active(user string) (*sieve.Script, string, error) {
	home, err := s.dir(user)
	if err != nil {
		return nil, "", err
	}
	name := activeName(home)
	if name == "" {
		return nil, "", nil
	}
	p := filepath.Join(home, scriptDir, name+ext)
	st, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	s.mu.Lock()
	c, ok := s.cache[strings.ToLower(user)]
	s.mu.Unlock()
	if ok && c.path == p && c.mtime.Equal(st.ModTime()) && c.size == st.Size() {
		return c.script, name, nil
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, "", err
	}
	script, err := s.Check(string(data))
	if err != nil {
		return nil, name, err
	}
	s.remember(user, p, script)
	return script, name, nil
}

func (s *Store) remember(user, path string, script *sieve.Script) {
	st, err := os.Stat(path)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.cache[strings.ToLower(user)] = cached{path: path, mtime: st.ModTime(), size: st.Size(), script: script}
	s.mu.Unlock()
}

func (s *Store) forget(user string) {
	s.mu.Lock()
	delete(s.cache, strings.ToLower(user))
	s.mu.Unlock()
}
