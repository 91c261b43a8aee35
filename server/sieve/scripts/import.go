package scripts

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ImportDovecot takes over the Sieve scripts of a Dovecot home directory
// for user: every ~/sieve/NAME.sieve, and the active ~/.dovecot.sieve,
// which is a link to one of them or a plain file (stored as "dovecot").
// It returns the name of the script it activated ("" for none). A script
// that does not compile is left out and named in the error, with its
// line and column; the others are still imported.
func (s *Store) ImportDovecot(user, home string) (string, error) {
	var errs []error
	paths, _ := filepath.Glob(filepath.Join(home, scriptDir, "*"+ext))
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ext)
		if err := s.importFile(user, name, p); err != nil {
			errs = append(errs, err)
		}
	}
	link := filepath.Join(home, activeLink)
	fi, err := os.Lstat(link)
	if errors.Is(err, os.ErrNotExist) {
		return "", errors.Join(errs...)
	}
	if err != nil {
		return "", errors.Join(append(errs, err)...)
	}
	active := "dovecot"
	if fi.Mode()&os.ModeSymlink != 0 {
		target, err := os.Readlink(link)
		if err != nil {
			return "", errors.Join(append(errs, err)...)
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(home, target)
		}
		name := strings.TrimSuffix(filepath.Base(target), ext)
		if filepath.Clean(filepath.Dir(target)) != filepath.Clean(filepath.Join(home, scriptDir)) {
			// A link to a script elsewhere: take its text under its name.
			if err := s.importFile(user, name, target); err != nil {
				return "", errors.Join(append(errs, err)...)
			}
		}
		active = name
	} else if err := s.importFile(user, active, link); err != nil {
		return "", errors.Join(append(errs, err)...)
	}
	if err := s.SetActive(user, active); err != nil {
		return "", errors.Join(append(errs, fmt.Errorf("activate %s: %w", active, err))...)
	}
	return active, errors.Join(errs...)
}

func (s *Store) importFile(user, name, path string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := s.Put(user, name, string(src)); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
