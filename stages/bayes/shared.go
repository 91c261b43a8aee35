package bayes

import (
	"path/filepath"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// sharedDir is a data directory whose models keep their counts on Redis.
type sharedDir struct {
	c       redis.UniversalClient
	timeout time.Duration
}

// ShareCounts makes every model file under dir (a server's data
// directory) keep its token counts on c, shared with every node pointing
// at the same Redis; OpenModel then builds a RedisStore for it. `sluice
// serve` calls it before the rules load when the config names a Redis.
// Keyed by directory, so that two servers in one process (the tests) each
// keep their own choice.
func ShareCounts(dir string, c redis.UniversalClient, timeout time.Duration) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	registry.Lock()
	defer registry.Unlock()
	registry.shared[abs] = sharedDir{c: c, timeout: timeout}
	return nil
}

// StopSharing forgets dir's Redis and the models opened under it (their
// client is about to close); a later OpenModel starts afresh.
func StopSharing(dir string) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return
	}
	registry.Lock()
	defer registry.Unlock()
	delete(registry.shared, abs)
	for p := range registry.models {
		if _, ok := under(abs, p); ok {
			delete(registry.models, p)
		}
	}
}

// under returns path relative to dir, and whether path is inside dir.
func under(dir, path string) (string, bool) {
	rel, err := filepath.Rel(dir, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// openStore opens the store of the model file at abs: counts on Redis when
// its directory shares them (named by the path below that directory, the
// same on every node), else all in the file. The caller holds the
// registry lock.
func openStore(abs string) (Store, error) {
	fs, err := OpenFileStore(abs)
	if err != nil {
		return nil, err
	}
	for dir, sh := range registry.shared {
		if rel, ok := under(dir, abs); ok {
			return NewRedisStore(sh.c, rel, sh.timeout, fs), nil
		}
	}
	return fs, nil
}
