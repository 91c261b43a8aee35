package auth

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// SetAdmin turns the console access of an account on or off.
func (a *Accounts) SetAdmin(addr string, on bool) error {
	addr = Normalize(addr)
	return a.update(func(f *file) error {
		u, ok := f.Users[addr]
		if !ok {
			return fmt.Errorf("%w: %s", ErrNoSuchUser, addr)
		}
		u.Admin = on
		f.Users[addr] = u
		return nil
	})
}

// IsAdmin reports whether addr is an account with console access.
func (a *Accounts) IsAdmin(addr string) bool {
	u, ok := a.snapshot().Users[Normalize(addr)]
	return ok && u.Admin
}

// TokenFile holds the SHA-256 of each bearer token for the console's JSON
// APIs, one hex digest a line, in the data directory.
const TokenFile = "admin-tokens"

// NewAdminToken makes a bearer token for the console's JSON APIs and
// records its hash; the token itself is only returned, never stored.
func NewAdminToken(dataDir string) (string, error) {
	b := make([]byte, 32)
	rand.Read(b)
	tok := "sluice_" + hex.EncodeToString(b)
	sum := sha256.Sum256([]byte(tok))
	path := filepath.Join(dataDir, TokenFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return "", err
	}
	if _, err := fmt.Fprintln(f, hex.EncodeToString(sum[:])); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", err
	}
	return tok, f.Close()
}

// CheckAdminToken reports whether tok is a token NewAdminToken made for
// dataDir. The file is read each time, so a token works as soon as it is
// made and stops when its line is deleted.
func CheckAdminToken(dataDir, tok string) bool {
	if !strings.HasPrefix(tok, "sluice_") {
		return false
	}
	f, err := os.Open(filepath.Join(dataDir, TokenFile))
	if err != nil {
		return false
	}
	defer f.Close()
	sum := sha256.Sum256([]byte(tok))
	want := []byte(hex.EncodeToString(sum[:]))
	ok := false
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(sc.Text())), want) == 1 {
			ok = true
		}
	}
	return ok
}

// CLITokenFile holds the token with which sluice's own commands (`sluice
// queue`, `sluice quarantine`) reach the console APIs of the server that
// runs on the same data directory; it is readable only by its owner, like
// the rest of the data directory.
const CLITokenFile = "admin-cli-token"

// CLIToken returns the command line's token, making it the first time.
func CLIToken(dataDir string) (string, error) {
	path := filepath.Join(dataDir, CLITokenFile)
	if b, err := os.ReadFile(path); err == nil {
		if tok := strings.TrimSpace(string(b)); CheckAdminToken(dataDir, tok) {
			return tok, nil
		}
	}
	tok, err := NewAdminToken(dataDir)
	if err != nil {
		return "", err
	}
	return tok, writeAtomic(path, []byte(tok+"\n"))
}
