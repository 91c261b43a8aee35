package queue

import (
	"encoding/binary"
	"fmt"
	"time"
)

// The payload encoding: strings and byte strings are a uvarint length then
// the bytes; times are a varint of Unix nanoseconds (0 is the zero time).

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return binary.AppendVarint(b, 0)
	}
	return binary.AppendVarint(b, t.UnixNano())
}

// decoder reads a payload; the first error sticks and later reads return
// zero values, so decoding functions read straight through and check once.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: bad %s at byte %d", errCorrupt, what, d.off)
	}
}

func (d *decoder) uvarint(max uint64) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 || v > max {
		d.fail("number")
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b)-d.off {
		d.fail("length")
		return nil
	}
	v := d.b[d.off : d.off+n : d.off+n]
	d.off += n
	return v
}

func (d *decoder) string() string {
	return string(d.bytes(int(d.uvarint(uint64(len(d.b))))))
}

func (d *decoder) byte() byte {
	b := d.bytes(1)
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

func (d *decoder) time() time.Time {
	if d.err != nil {
		return time.Time{}
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail("time")
		return time.Time{}
	}
	d.off += n
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v)
}

// end fails unless the whole payload was read.
func (d *decoder) end() {
	if d.err == nil && d.off != len(d.b) {
		d.fail("trailing bytes")
	}
}
