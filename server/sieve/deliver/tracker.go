package deliver

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// tracker remembers, per user, which senders got which vacation reply
// until when (RFC 5230 section 4.2), and which messages were redirected
// where, in <home>/sieve/.vacation: one line
// "UNIX-EXPIRY HASH" per reply, expired lines dropped at each write. The
// hash of handle and sender keeps addresses out of the file.
type tracker struct {
	mu    sync.Mutex // one writer at a time; replies are rare
	home  func(user string) (string, error)
	clock func() time.Time
}

func trackKey(handle, sender string) string {
	sum := sha256.Sum256([]byte(handle + "\x00" + strings.ToLower(sender)))
	return hex.EncodeToString(sum[:16])
}

// claim records a reply to sender under handle for period and reports
// whether one may go out: false when an earlier one is still in force.
func (t *tracker) claim(user, handle, sender string, period time.Duration) (bool, error) {
	home, err := t.home(user)
	if err != nil {
		return false, err
	}
	path := filepath.Join(home, "sieve", ".vacation")
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock()
	entries, err := readTrack(path, now)
	if err != nil {
		return false, err
	}
	key := trackKey(handle, sender)
	if _, ok := entries[key]; ok {
		return false, nil
	}
	entries[key] = now.Add(period).Unix()
	return true, writeTrack(path, entries)
}

func readTrack(path string, now time.Time) (map[string]int64, error) {
	out := map[string]int64{}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		exp, key, ok := strings.Cut(sc.Text(), " ")
		n, err := strconv.ParseInt(exp, 10, 64)
		if ok && err == nil && n > now.Unix() {
			out[key] = n
		}
	}
	return out, sc.Err()
}

func writeTrack(path string, entries map[string]int64) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	var b strings.Builder
	for k, exp := range entries {
		fmt.Fprintf(&b, "%d %s\n", exp, k)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
