package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The index (one bbolt file per user, beside the Maildir) holds what
// Maildir file names cannot: per mailbox the UIDVALIDITY, UIDNEXT and
// HIGHESTMODSEQ, and per message its UID (keyed by the file's unique base
// name), keywords, size, internal date, MODSEQ and cached envelope; per
// user the subscriptions, the Junk training record and the import digests.
// It is rebuilt from the Maildir when lost or unreadable, with new
// UIDVALIDITY values so that clients resynchronise.

// IndexFile is the index's file name inside the user's Maildir.
const IndexFile = "sluice-index.db"

// indexMarker is created with a user's first index.
const indexMarker = "sluice-index.created"

var (
	bMeta      = []byte("meta")
	bBoxes     = []byte("mailboxes")
	bSubs      = []byte("subscriptions")
	bLearned   = []byte("learned")
	bImported  = []byte("imported")
	kLastValid = []byte("uidvalidity")
	kVersion   = []byte("version")
	kValidity  = []byte("v")
	kNext      = []byte("n")
	kModSeq    = []byte("m")
	bMsgs      = []byte("msgs")
)

// indexVersion 2 writes message entries in a binary layout
// (recordcodec.go); version 1's JSON entries are read and rewritten. An
// older sluice refuses version 2 and rebuilds the index aside of it.
const indexVersion = 2

// record is a message's index entry.
type record struct {
	Base     string          `json:"b"`
	Sub      string          `json:"u,omitempty"` // "new" for a file indexed lazily and not moved to cur/ yet (lazy.go); else cur
	Flags    string          `json:"f,omitempty"` // as in the file name, unless the unrenamed bucket says otherwise (flagrename.go)
	Keywords []string        `json:"k,omitempty"`
	Size     int64           `json:"s"`
	Date     int64           `json:"d"` // internal date, Unix nanoseconds
	ModSeq   uint64          `json:"m"`
	Envelope json.RawMessage `json:"e,omitempty"`
	// Keys is absent in entries written before keys were kept; loading
	// the mailbox derives and stores them (keys.go).
	Keys *Keys `json:"h,omitempty"`
}

// indexOptions are bbolt's options for an index. InitialMmapSize: the
// first index of a 10,000-message Maildir grows the file in one
// transaction, and each growth past the mapping re-mapped it and copied
// every node (a third of that commit's CPU, bench/imap's first cold
// open). 64 MB of address space, not memory: the file does not grow.
func indexOptions() *bolt.Options {
	return &bolt.Options{Timeout: 5 * time.Second, InitialMmapSize: 64 << 20}
}

// openIndex opens the index of a user, rebuilding it when it is missing or
// unreadable (fresh is then true). A broken index is kept aside for
// inspection, never deleted.
func (s *Store) openIndex(dir string) (db *bolt.DB, fresh bool, err error) {
	path := filepath.Join(dir, IndexFile)
	_, statErr := os.Stat(path)
	fresh = statErr != nil
	db, err = bolt.Open(path, 0o600, indexOptions())
	if err == nil {
		err = db.Update(initIndex)
		if err != nil {
			db.Close()
		}
	}
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, false, fmt.Errorf("index %s is locked by another process: %w", path, err)
		}
		aside := fmt.Sprintf("%s.broken-%d", path, time.Now().Unix())
		s.log.Error("store: index unreadable, rebuilding from the Maildir with new UIDVALIDITY",
			"index", path, "moved_to", aside, "err", err)
		if rerr := os.Rename(path, aside); rerr != nil {
			return nil, false, fmt.Errorf("index %s: %w (and moving it aside: %v)", path, err, rerr)
		}
		fresh = true
		db, err = bolt.Open(path, 0o600, indexOptions())
		if err == nil {
			err = db.Update(initIndex)
		}
		if err != nil {
			return nil, false, fmt.Errorf("index %s: %w", path, err)
		}
	} else if statErr != nil {
		// A marker written with the first index tells a lost index from
		// a user who never had one.
		marker := filepath.Join(dir, indexMarker)
		if _, err := os.Stat(marker); err == nil {
			s.log.Warn("store: index missing, rebuilding it from the Maildir with new UIDVALIDITY", "index", path)
		} else {
			s.log.Info("store: new index", "index", path)
			os.WriteFile(marker, []byte("the IMAP index sluice-index.db was created for this Maildir\n"), 0o600)
		}
	}
	return db, fresh, nil
}

func initIndex(tx *bolt.Tx) error {
	for _, name := range [][]byte{bMeta, bBoxes, bSubs, bLearned, bImported} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	meta := tx.Bucket(bMeta)
	if v := meta.Get(kVersion); v != nil && getU64(v) != indexVersion && getU64(v) != 1 {
		return fmt.Errorf("index version %d, want %d", getU64(v), indexVersion)
	}
	return meta.Put(kVersion, putU64(indexVersion))
}

// newValidity hands out a UIDVALIDITY greater than any this index gave
// before and than the current time, so that a rebuilt index (whose
// counter restarts) still moves forward.
func newValidity(tx *bolt.Tx) (uint32, error) {
	meta := tx.Bucket(bMeta)
	last := uint32(getU64(meta.Get(kLastValid)))
	v := uint32(time.Now().Unix())
	if v <= last {
		v = last + 1
	}
	return v, meta.Put(kLastValid, putU64(uint64(v)))
}

// boxBucket returns the bucket of a mailbox, creating it (with a new
// UIDVALIDITY) if create is set.
func boxBucket(tx *bolt.Tx, name string, create bool) (*bolt.Bucket, error) {
	boxes := tx.Bucket(bBoxes)
	if b := boxes.Bucket([]byte(name)); b != nil || !create {
		return b, nil
	}
	b, err := boxes.CreateBucket([]byte(name))
	if err != nil {
		return nil, err
	}
	v, err := newValidity(tx)
	if err != nil {
		return nil, err
	}
	if _, err := b.CreateBucket(bMsgs); err != nil {
		return nil, err
	}
	for k, val := range map[string]uint64{"v": uint64(v), "n": 1, "m": 1} {
		if err := b.Put([]byte(k), putU64(val)); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func putU64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func getU64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func uidKey(uid uint32) []byte {
	b := make([]byte, 4)
	binary.BigEndian.PutUint32(b, uid)
	return b
}
