package store

import (
	"bytes"
	"encoding/json"
	"strconv"
	"sync"
)

// Decoding every index entry's SEARCH keys was a large part of loading a
// 10,000-message mailbox (SELECT after a restart, bench/imap), and a
// SELECT reads none of them. An entry's keys are kept as stored and
// decoded by the first SEARCH, SORT or THREAD that asks (Keys). Copies of
// the Message share them.
type storedKeys struct {
	once sync.Once
	raw  json.RawMessage
	env  json.RawMessage // to derive them again from, should raw not decode
	keys *Keys
}

func (k *storedKeys) get() *Keys {
	k.once.Do(func() {
		var d Keys
		if json.Unmarshal(k.raw, &d) == nil {
			k.keys = &d
		} else {
			k.keys = keysOfJSON(k.env)
		}
		k.raw, k.env = nil, nil
	})
	return k.keys
}

// keysPrefix is how current keys start as json.Marshal writes them
// (Version is Keys's first field), so that loading tells stale keys from
// current ones without decoding them.
var keysPrefix = []byte(`{"v":` + strconv.Itoa(keysVersion) + `,`)

// keysEmpty is current keys with every other field empty.
var keysEmpty = []byte(`{"v":` + strconv.Itoa(keysVersion) + `}`)

// currentKeys reports whether raw holds keys of the current version.
func currentKeys(raw json.RawMessage) bool {
	return bytes.HasPrefix(raw, keysPrefix) || bytes.Equal(raw, keysEmpty)
}

// loadedRecord is a record as loading reads it: the keys left undecoded.
// Its Keys field hides record's (the shallower field wins in
// encoding/json).
type loadedRecord struct {
	record
	Keys json.RawMessage `json:"h,omitempty"`
}
