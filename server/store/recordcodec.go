package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
)

// An index entry is written in a binary layout: loading a 10,000-message
// mailbox after a restart spent most of its CPU in encoding/json, which
// must scan every byte of each entry's envelope and SEARCH keys to find
// where the fields end (BenchmarkLoadAfterRestart). Here each field is
// preceded by its length, so loading slices the entry and copies the
// envelope and keys as they are, still JSON, decoded when first asked
// (envmemo.go, keysmemo.go).
//
// Layout: recordTag, then uvarint size, varint date, uvarint MODSEQ,
// the strings base, sub and flags, a uvarint count of keywords and each
// keyword, then the envelope and the keys (empty: none); every string
// is a uvarint length and its bytes. Entries of index version 1 are JSON
// objects (they start with '{') and stay readable; a load rewrites them.

// recordTag starts a binary entry.
const recordTag = 0x01

// marshalRecord writes r in the binary layout, with keys already encoded.
func marshalRecord(r *record, keys []byte) []byte {
	n := 1 + 3*binary.MaxVarintLen64 + 6*binary.MaxVarintLen32 +
		len(r.Base) + len(r.Sub) + len(r.Flags) + len(r.Envelope) + len(keys)
	for _, k := range r.Keywords {
		n += binary.MaxVarintLen32 + len(k)
	}
	b := make([]byte, 0, n)
	b = append(b, recordTag)
	b = binary.AppendUvarint(b, uint64(r.Size))
	b = binary.AppendVarint(b, r.Date)
	b = binary.AppendUvarint(b, r.ModSeq)
	b = appendField(b, r.Base)
	b = appendField(b, r.Sub)
	b = appendField(b, r.Flags)
	b = binary.AppendUvarint(b, uint64(len(r.Keywords)))
	for _, k := range r.Keywords {
		b = appendField(b, k)
	}
	b = appendField(b, string(r.Envelope))
	b = appendField(b, string(keys))
	return b
}

func appendField(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

var errShortRecord = errors.New("index entry cut short")

// unmarshalRecord reads an entry of either layout into r. The envelope
// and keys are copied (bbolt's bytes live only as long as the
// transaction), into one allocation.
func unmarshalRecord(v []byte, r *loadedRecord) (binaryLayout bool, err error) {
	if len(v) == 0 || v[0] != recordTag {
		return false, json.Unmarshal(v, r)
	}
	d := recordReader{b: v[1:]}
	size := d.uvarint()
	r.Date = d.varint()
	r.ModSeq = d.uvarint()
	r.Base = string(d.field())
	r.Sub = string(d.field())
	r.Flags = string(d.field())
	if nk := d.uvarint(); nk > 0 {
		if nk > uint64(len(d.b)) { // each keyword takes a byte at least
			return true, errShortRecord
		}
		r.Keywords = make([]string, nk)
		for i := range r.Keywords {
			r.Keywords[i] = string(d.field())
		}
	}
	env, keys := d.field(), d.field()
	if d.err != nil {
		return true, d.err
	}
	if size > 1<<62 {
		return true, errors.New("index entry: size out of range")
	}
	r.Size = int64(size)
	if len(env)+len(keys) > 0 {
		buf := make([]byte, len(env)+len(keys))
		copy(buf, env)
		copy(buf[len(env):], keys)
		if len(env) > 0 {
			r.Envelope = buf[:len(env):len(env)]
		}
		if len(keys) > 0 {
			r.Keys = buf[len(env):]
		}
	}
	return true, nil
}

// recordReader reads a binary entry's fields; the first fault sticks and
// makes every later read return nothing.
type recordReader struct {
	b   []byte
	err error
}

func (d *recordReader) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errShortRecord
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *recordReader) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errShortRecord
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *recordReader) field() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errShortRecord
		return nil
	}
	f := d.b[:n:n]
	d.b = d.b[n:]
	return f
}
