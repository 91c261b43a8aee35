package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/sluicemail/sluice/engine"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// EmbeddedFile is the state file's name in the data directory.
const EmbeddedFile = "state.db"

// Buckets of the state file, one per kind of record. Every record carries
// its expiry; a record past it reads as absent and the sweep deletes it.
var (
	bucketRate  = []byte("rate")
	bucketGrey  = []byte("greylist")
	bucketNet   = []byte("greylist-net")
	bucketFails = []byte("auth-fails")
	bucketBans  = []byte("auth-bans")
	allBuckets  = [][]byte{bucketRate, bucketGrey, bucketNet, bucketFails, bucketBans}
)

// Embedded is the state of a single node, in the data directory: it
// survives restarts, so a restart neither resets the limits nor greylists
// every sender again.
type Embedded struct {
	db   *bolt.DB
	now  func() time.Time
	stop chan struct{}
	done sync.WaitGroup
}

// OpenEmbedded opens (or creates) the state file in dataDir and starts the
// sweep of expired records.
func OpenEmbedded(dataDir string) (*Embedded, error) {
	path := filepath.Join(dataDir, EmbeddedFile)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, NoFreelistSync: true})
	if errors.Is(err, bolterrors.ErrTimeout) {
		// bbolt holds an exclusive lock on the file while open.
		return nil, fmt.Errorf("state: %s is in use (is another sluice running on this data directory?)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("state: %w", err)
	}
	// Writes from concurrent messages share one commit and its fsync
	// (db.Batch): one fsync per decision would cap a busy MX at a few
	// hundred messages a second.
	db.MaxBatchDelay = 2 * time.Millisecond
	e := &Embedded{db: db, now: time.Now, stop: make(chan struct{})}
	e.done.Add(1)
	go e.sweepLoop(10 * time.Minute)
	return e, nil
}

// Close stops the sweep and closes the file.
func (e *Embedded) Close() error {
	close(e.stop)
	e.done.Wait()
	return e.db.Close()
}

// record is what every bucket holds: a value and its expiry.
type record[T any] struct {
	V   T     `json:"v"`
	Exp int64 `json:"exp"` // unix nanoseconds
}

// get reads a live record; ok is false when absent, expired or unreadable
// (a damaged record is forgotten, never an error for the message).
func get[T any](b *bolt.Bucket, key string, now time.Time) (v T, ok bool) {
	raw := b.Get([]byte(key))
	if raw == nil {
		return v, false
	}
	var r record[T]
	if json.Unmarshal(raw, &r) != nil || r.Exp <= now.UnixNano() {
		return v, false
	}
	return r.V, true
}

func put[T any](b *bolt.Bucket, key string, v T, exp time.Time) error {
	raw, err := json.Marshal(record[T]{V: v, Exp: exp.UnixNano()})
	if err != nil {
		return err
	}
	return b.Put([]byte(key), raw)
}

// update runs fn in a write transaction shared with concurrent callers,
// giving up when ctx ends first (bbolt itself takes no context). fn may run
// twice if another caller's fn fails the shared transaction, so it must
// only compute from what it reads.
func (e *Embedded) update(ctx context.Context, fn func(tx *bolt.Tx, now time.Time) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- e.db.Batch(func(tx *bolt.Tx) error { return fn(tx, e.now()) }) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RateHit implements engine.State.
func (e *Embedded) RateHit(ctx context.Context, key string, limit engine.Rate, n int) (count int, exceeded bool, err error) {
	err = e.update(ctx, func(tx *bolt.Tx, now time.Time) error {
		b := tx.Bucket(bucketRate)
		c, _ := get[engine.RateCounter](b, key, now)
		count, exceeded = c.Hit(now, limit, n)
		if exceeded {
			return nil
		}
		return put(b, key, c, now.Add(rateTTL(limit.Per)))
	})
	return count, exceeded, err
}

// Greylist implements engine.State.
func (e *Embedded) Greylist(ctx context.Context, t engine.Triplet, s engine.GreylistSettings) (res engine.GreylistResult, err error) {
	err = e.update(ctx, func(tx *bolt.Tx, now time.Time) error {
		grey, nets := tx.Bucket(bucketGrey), tx.Bucket(bucketNet)
		var entry *engine.GreylistEntry
		if v, ok := get[engine.GreylistEntry](grey, t.Key(), now); ok {
			entry = &v
		}
		passes, _ := get[int](nets, t.Network, now)
		var next engine.GreylistEntry
		var addPass bool
		res, next, addPass = engine.DecideGreylist(entry, passes, now, s)
		exp := now.Add(s.Keep)
		if !next.Passed {
			exp = next.First.Add(s.Window)
		}
		if err := put(grey, t.Key(), next, exp); err != nil {
			return err
		}
		if addPass || (passes > 0 && res.Pass) {
			return put(nets, t.Network, passes+b2i(addPass), now.Add(s.Keep))
		}
		return nil
	})
	return res, err
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Banned implements Bans.
func (e *Embedded) Banned(ctx context.Context, ip string) (banned bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	err = e.db.View(func(tx *bolt.Tx) error {
		_, banned = get[bool](tx.Bucket(bucketBans), ip, e.now())
		return nil
	})
	return banned, err
}

// AuthFailed implements Bans.
func (e *Embedded) AuthFailed(ctx context.Context, ip string, max int, ban time.Duration) error {
	return e.update(ctx, func(tx *bolt.Tx, now time.Time) error {
		fails := tx.Bucket(bucketFails)
		n, ok := get[int](fails, ip, now)
		if !ok {
			n = 0
		}
		n++
		if n >= max {
			if err := fails.Delete([]byte(ip)); err != nil {
				return err
			}
			return put(tx.Bucket(bucketBans), ip, true, now.Add(ban))
		}
		// The count lives for ban from the first failure, as before.
		exp := now.Add(ban)
		if ok {
			exp = expiry(fails, ip)
		}
		return put(fails, ip, n, exp)
	})
}

// expiry reads a record's expiry whatever its value type.
func expiry(b *bolt.Bucket, key string) time.Time {
	var r record[json.RawMessage]
	if json.Unmarshal(b.Get([]byte(key)), &r) != nil {
		return time.Time{}
	}
	return time.Unix(0, r.Exp)
}

func (e *Embedded) sweepLoop(every time.Duration) {
	defer e.done.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			e.sweep()
		}
	}
}

// sweep deletes the expired records, so the file does not grow with every
// address that ever sent a message.
func (e *Embedded) sweep() error {
	now := e.now()
	return e.db.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			b := tx.Bucket(name)
			var dead [][]byte
			err := b.ForEach(func(k, v []byte) error {
				var r record[json.RawMessage]
				if json.Unmarshal(v, &r) != nil || r.Exp <= now.UnixNano() {
					dead = append(dead, append([]byte(nil), k...))
				}
				return nil
			})
			if err != nil {
				return err
			}
			for _, k := range dead {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
