package console

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// SessionFile, in the data directory, holds the console's sessions: for
// each, the SHA-256 of its cookie (never the cookie), the user, the CSRF
// token of its forms and when it expires. Only the owner may read it.
const SessionFile = "console-sessions.json"

// saveEvery bounds how stale a session's expiry on disk may be: a request
// extends the session in memory and writes it only when the expiry moved
// on by this much, so that browsing is not a file write per page.
const saveEvery = 10 * time.Minute

type storedSession struct {
	User    string    `json:"user"`
	CSRF    string    `json:"csrf"`
	Expires time.Time `json:"expires"`
}

// load reads the sessions kept by an earlier run, dropping expired ones.
// A missing file is no session; an unreadable one is logged and ignored:
// the admins log in again, nothing else is lost.
func (s *sessions) load() {
	if s.path == "" {
		return
	}
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	var stored map[string]storedSession
	if err == nil {
		err = json.Unmarshal(b, &stored)
	}
	if err != nil {
		s.log.Warn("console: sessions of the last run not read; admins must log in again", "file", s.path, "err", err)
		return
	}
	now := s.now()
	for k, v := range stored {
		if len(k) != 64 || v.User == "" || v.CSRF == "" || now.After(v.Expires) {
			continue
		}
		s.m[k] = &session{user: v.User, csrf: v.CSRF, expires: v.Expires, saved: v.Expires}
	}
}

// save writes the sessions (the caller holds mu): to a temporary file,
// then renamed over the old one, so that a crash leaves one or the other.
func (s *sessions) save() {
	if s.path == "" {
		return
	}
	stored := make(map[string]storedSession, len(s.m))
	for k, v := range s.m {
		stored[k] = storedSession{User: v.user, CSRF: v.csrf, Expires: v.expires}
		v.saved = v.expires
	}
	b, _ := json.Marshal(stored)
	tmp := s.path + ".tmp"
	err := os.WriteFile(tmp, b, 0o600)
	if err == nil {
		err = os.Rename(tmp, s.path)
	}
	if err != nil {
		s.log.Warn("console: sessions not saved; a restart will log admins out", "file", s.path, "err", err)
	}
}

// sessionPath is where sessions are kept for a data directory.
func sessionPath(dataDir string) string {
	if dataDir == "" {
		return ""
	}
	return filepath.Join(dataDir, SessionFile)
}
