package srs

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DefaultSecretFile is the secret's file name inside the data directory.
const DefaultSecretFile = "srs.secret"

// LoadSecrets reads a secrets file as postsrsd does: one secret a line,
// blank lines skipped; the first signs, the others still verify (so a
// secret can be rotated without refusing the bounces of the last weeks).
// When the file does not exist and create is true, a new random secret is
// written to it first (mode 0600, fsynced), so that a fresh server needs
// no setup and keeps its secret across restarts.
func LoadSecrets(path string, create bool) ([]string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		if err := writeSecret(path); err != nil {
			return nil, err
		}
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("srs secret: %w", err)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if s := strings.TrimRight(sc.Text(), "\r"); strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("srs secret %s: %w", path, ErrNoSecret)
	}
	return out, nil
}

// writeSecret creates path with 24 random bytes in base64, atomically:
// a crash leaves either no file or a whole one.
func writeSecret(path string) error {
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("srs secret: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("srs secret: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".srs-secret-*")
	if err != nil {
		return fmt.Errorf("srs secret: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(base64.StdEncoding.EncodeToString(raw) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// Link, not rename: a secret another process wrote meanwhile wins.
		err = os.Link(tmp.Name(), path)
		if errors.Is(err, fs.ErrExist) {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("srs secret: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
