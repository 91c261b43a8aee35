package scripts

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Put compiles src and stores it as name, replacing a script of that
// name; a script that does not compile is refused with the compiler's
// error (a *sieve.Error with line and column).
func (s *Store) Put(user, name, src string) error {
	home, p, err := s.path(user, name)
	if err != nil {
		return err
	}
	script, err := s.Check(src)
	if err != nil {
		return err
	}
	if err := s.HaveSpace(user, name, len(src)); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(home, scriptDir), 0o700); err != nil {
		return err
	}
	if err := writeAtomic(p, []byte(src)); err != nil {
		return err
	}
	if activeName(home) == name {
		s.remember(user, p, script)
	}
	return nil
}

// HaveSpace says whether a script of size bytes may be stored as name
// (RFC 5804 section 2.5).
func (s *Store) HaveSpace(user, name string, size int) error {
	if err := CheckName(name); err != nil {
		return err
	}
	if size > s.MaxSize {
		return fmt.Errorf("%w (%d bytes, the limit is %d)", ErrMaxSize, size, s.MaxSize)
	}
	list, err := s.List(user)
	if err != nil {
		return err
	}
	for _, i := range list {
		if i.Name == name {
			return nil
		}
	}
	if len(list) >= s.MaxScripts {
		return fmt.Errorf("%w (the limit is %d)", ErrMaxScripts, s.MaxScripts)
	}
	return nil
}

// writeAtomic writes data beside path, fsyncs it and renames it over
// path, so that a delivery never reads half a script.
func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// SetActive makes name the active script; "" deactivates scripts.
func (s *Store) SetActive(user, name string) error {
	home, err := s.dir(user)
	if err != nil {
		return err
	}
	link := filepath.Join(home, activeLink)
	if name == "" {
		s.forget(user)
		if err := os.Remove(link); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	_, p, err := s.path(user, name)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	script, err := s.Check(string(data))
	if err != nil {
		return err
	}
	tmp := link + ".tmp"
	os.Remove(tmp)
	if err := os.Symlink(filepath.Join(scriptDir, name+ext), tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, link); err != nil {
		os.Remove(tmp)
		return err
	}
	s.remember(user, p, script)
	return nil
}

// Delete removes a script that is not active (RFC 5804 section 2.10).
func (s *Store) Delete(user, name string) error {
	home, p, err := s.path(user, name)
	if err != nil {
		return err
	}
	if activeName(home) == name {
		return ErrActive
	}
	if err := os.Remove(p); errors.Is(err, os.ErrNotExist) {
		return ErrNotFound
	} else if err != nil {
		return err
	}
	return nil
}

// Rename gives a script a new name, keeping it active if it was.
func (s *Store) Rename(user, from, to string) error {
	home, pf, err := s.path(user, from)
	if err != nil {
		return err
	}
	_, pt, err := s.path(user, to)
	if err != nil {
		return err
	}
	if _, err := os.Stat(pf); errors.Is(err, os.ErrNotExist) {
		return ErrNotFound
	}
	if _, err := os.Lstat(pt); err == nil {
		return ErrExists
	}
	wasActive := activeName(home) == from
	if err := os.Rename(pf, pt); err != nil {
		return err
	}
	if wasActive {
		return s.SetActive(user, to)
	}
	return nil
}

// Install stores src as the user's script name and makes it active: what
// a migration does with a user's .dovecot.sieve.
func (s *Store) Install(user, name, src string) error {
	if err := s.Put(user, name, src); err != nil {
		return err
	}
	return s.SetActive(user, name)
}
