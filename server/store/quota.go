package store

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// QuotaError is a refusal for lack of storage space. SMTP answers 452
// 4.2.2 when it is temporary (the user may free space) and 552 5.2.2 when
// it is permanent (the message alone is over the limit); IMAP APPEND
// answers NO [OVERQUOTA].
type QuotaError struct {
	User         string
	Usage, Limit int64
	Size         int64
	Permanent    bool
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("store: %s over quota: %d used + %d > %d bytes", e.User, e.Usage, e.Size, e.Limit)
}

// Limit returns the storage limit of user in bytes (0: none).
func (s *Store) Limit(user string) int64 {
	if s.opts.Quota == nil {
		return 0
	}
	return s.opts.Quota(user)
}

// CheckQuota returns a *QuotaError if a message of size bytes would take
// user over their limit, and nil if it fits. The SMTP session calls it at
// RCPT (with the SIZE parameter, or 0) and again before accepting DATA, so
// a message is refused before it is acknowledged, never dropped after.
func (s *Store) CheckQuota(user string, size int64) error {
	limit := s.Limit(user)
	if limit <= 0 {
		return nil
	}
	used, err := s.Usage(user)
	if err != nil {
		return err
	}
	if size > limit {
		return &QuotaError{User: user, Usage: used, Limit: limit, Size: size, Permanent: true}
	}
	if used+size > limit {
		return &QuotaError{User: user, Usage: used, Limit: limit, Size: size}
	}
	return nil
}

// Usage returns the bytes stored in every mailbox of user. It is counted
// from the Maildir once (the ",S=" sizes in file names, or a stat) and then
// kept up to date by the store's own writes and by index scans.
func (s *Store) Usage(user string) (int64, error) {
	user = strings.ToLower(user)
	u := s.user(user)
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.known {
		return u.usage, nil
	}
	dir, err := s.UserDir(user)
	if err != nil {
		return 0, err
	}
	n, err := duMaildir(dir)
	if err != nil {
		return 0, fmt.Errorf("store: usage of %s: %w", user, err)
	}
	u.usage, u.known = n, true
	return n, nil
}

// addUsage adjusts the usage counter of user by delta bytes, if known.
func (s *Store) addUsage(user string, delta int64) {
	u := s.user(user)
	u.mu.Lock()
	if u.known {
		u.usage += delta
	}
	u.mu.Unlock()
}

// duMaildir sums the sizes of the messages in a Maildir++ tree.
func duMaildir(dir string) (int64, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	total, err := duFolder(dir)
	for _, e := range entries {
		if _, ok := nameOfDir(e.Name()); ok && e.IsDir() && err == nil {
			var n int64
			n, err = duFolder(filepath.Join(dir, e.Name()))
			total += n
		}
	}
	return total, err
}

func duFolder(dir string) (int64, error) {
	var total int64
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return 0, err
		}
		for _, e := range entries {
			base, _, _ := splitName(e.Name())
			if n := sizeOfBase(base); n >= 0 {
				total += n
			} else if info, err := e.Info(); err == nil {
				total += info.Size()
			}
		}
	}
	return total, nil
}
