package auth

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/goccy/go-yaml"
	"golang.org/x/crypto/bcrypt"
)

// HashCost is the bcrypt cost of new password hashes.
var HashCost = bcrypt.DefaultCost

// AddUser creates an account. The address must be a plain user@domain.
func (a *Accounts) AddUser(addr, password string) error {
	addr = Normalize(addr)
	if err := checkAddress(addr); err != nil {
		return err
	}
	hash, err := hashPassword(password)
	if err != nil {
		return err
	}
	return a.update(func(f *file) error {
		if _, ok := f.Users[addr]; ok {
			return fmt.Errorf("%w: %s", ErrExists, addr)
		}
		f.Users[addr] = User{Password: hash}
		return nil
	})
}

// SetPassword changes an account's password.
func (a *Accounts) SetPassword(addr, password string) error {
	addr = Normalize(addr)
	hash, err := hashPassword(password)
	if err != nil {
		return err
	}
	return a.update(func(f *file) error {
		u, ok := f.Users[addr]
		if !ok {
			return fmt.Errorf("%w: %s", ErrNoSuchUser, addr)
		}
		u.Password, u.Disabled = hash, ""
		f.Users[addr] = u
		return nil
	})
}

// DeleteUser removes an account (not its mail) and drops it from every
// alias; an alias left with no target is removed.
func (a *Accounts) DeleteUser(addr string) error {
	addr = Normalize(addr)
	return a.update(func(f *file) error {
		if _, ok := f.Users[addr]; !ok {
			return fmt.Errorf("%w: %s", ErrNoSuchUser, addr)
		}
		delete(f.Users, addr)
		for al, targets := range f.Aliases {
			kept := targets[:0]
			for _, t := range targets {
				if Normalize(t) != addr {
					kept = append(kept, t)
				}
			}
			if len(kept) == 0 {
				delete(f.Aliases, al)
			} else {
				f.Aliases[al] = kept
			}
		}
		return nil
	})
}

// SetAlias makes alias deliver to targets, replacing what it had. An alias
// "@domain" is that domain's catch-all.
func (a *Accounts) SetAlias(alias string, targets []string) error {
	alias = Normalize(alias)
	if !strings.HasPrefix(alias, "@") {
		if err := checkAddress(alias); err != nil {
			return err
		}
	} else if err := checkAddress("x" + alias); err != nil {
		return err
	}
	if len(targets) == 0 {
		return fmt.Errorf("auth: alias %s needs at least one target", alias)
	}
	var norm []string
	for _, t := range targets {
		t = Normalize(t)
		if err := checkAddress(t); err != nil {
			return err
		}
		norm = append(norm, t)
	}
	return a.update(func(f *file) error {
		if _, ok := f.Users[alias]; ok {
			return fmt.Errorf("%w: %s is an account, not an alias", ErrExists, alias)
		}
		f.Aliases[alias] = norm
		return nil
	})
}

// DeleteAlias removes an alias or catch-all.
func (a *Accounts) DeleteAlias(alias string) error {
	alias = Normalize(alias)
	return a.update(func(f *file) error {
		if _, ok := f.Aliases[alias]; !ok {
			return fmt.Errorf("auth: no alias %s", alias)
		}
		delete(f.Aliases, alias)
		return nil
	})
}

func checkAddress(addr string) error {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || local == "" || domain == "" || strings.ContainsAny(addr, " \t\r\n\"<>()[]\\,;:%!/") ||
		strings.Contains(domain, "@") || strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") {
		return fmt.Errorf("auth: %q is not a plain user@domain address", addr)
	}
	return nil
}

func hashPassword(pw string) (string, error) {
	if len(pw) < 8 {
		return "", fmt.Errorf("auth: password too short (at least 8 characters)")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), HashCost)
	if err != nil {
		return "", fmt.Errorf("auth: %w", err) // includes bcrypt's 72-byte limit
	}
	return string(h), nil
}

// update applies change to the current file under an exclusive lock and
// writes the result atomically.
func (a *Accounts) update(change func(*file) error) error {
	unlock, err := lockFile(a.path + ".lock")
	if err != nil {
		return err
	}
	defer unlock()
	f := &file{}
	if _, err := os.Stat(a.path); err == nil {
		if f, err = readFile(a.path); err != nil {
			return err
		}
	}
	if f.Users == nil {
		f.Users = map[string]User{}
	}
	if f.Aliases == nil {
		f.Aliases = map[string][]string{}
	}
	if err := change(f); err != nil {
		return err
	}
	data, err := yaml.Marshal(f)
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	header := "# sluice accounts: managed by `sluice user`; a running server reloads it when it changes.\n"
	if err := writeAtomic(a.path, append([]byte(header), data...)); err != nil {
		return err
	}
	return a.reload(true)
}

// writeAtomic writes data to a temporary file, fsyncs it, renames it over
// path and fsyncs the directory, so a crash leaves the old or the new file.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".accounts-*.tmp")
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o600)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("auth: writing %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	return nil
}

// lockFile takes an exclusive flock so that two `sluice user` commands do
// not overwrite each other's change.
func lockFile(path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("auth: lock %s: %w", path, err)
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}
