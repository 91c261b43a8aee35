package queue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"
)

// A spool segment is a sequence of frames:
//
//	sync byte 0xA5 | type | payload length (uint32 BE) | CRC-32C of type+payload (uint32 BE) | payload
//
// A torn write at the tail (a crash during append) leaves a short frame or a
// CRC mismatch; recovery stops reading the segment there. Every frame is
// self-contained, so a frame never depends on bytes after it.
const (
	frameSync   = 0xA5
	frameHeader = 10
	// maxPayload bounds a frame so a corrupt length cannot make recovery
	// allocate gigabytes.
	maxPayload = 1 << 30
)

// Record types.
const (
	recPut    byte = 'P' // a message: envelope, per-recipient state, raw bytes
	recDone   byte = 'D' // recipients finished (delivered, failed or dropped)
	recDefer  byte = 'R' // an attempt failed: attempts, next attempt, last error
	recDelete byte = 'X' // the message was removed by the operator
)

// Recipient states, kept per recipient in put and done records.
const (
	rcptPending   byte = 0
	rcptDelivered byte = 1
	rcptFailed    byte = 2 // permanently failed; a DSN was queued if one was due
	rcptDropped   byte = 3 // removed by the operator
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

var (
	errShort   = errors.New("short frame")
	errCorrupt = errors.New("corrupt frame")
)

// appendFrame appends a frame of type typ around payload.
func appendFrame(dst []byte, typ byte, payload []byte) []byte {
	crc := crc32.Update(crc32.Checksum([]byte{typ}, crcTable), crcTable, payload)
	dst = append(dst, frameSync, typ)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	dst = binary.BigEndian.AppendUint32(dst, crc)
	return append(dst, payload...)
}

// parseHeader checks a frame header and returns the type and payload length.
func parseHeader(h []byte) (typ byte, n int, crc uint32, err error) {
	if len(h) < frameHeader {
		return 0, 0, 0, errShort
	}
	if h[0] != frameSync {
		return 0, 0, 0, fmt.Errorf("%w: bad sync byte %#x", errCorrupt, h[0])
	}
	typ = h[1]
	switch typ {
	case recPut, recDone, recDefer, recDelete:
	default:
		return 0, 0, 0, fmt.Errorf("%w: unknown record type %q", errCorrupt, typ)
	}
	size := binary.BigEndian.Uint32(h[2:6])
	if size > maxPayload {
		return 0, 0, 0, fmt.Errorf("%w: payload of %d bytes", errCorrupt, size)
	}
	return typ, int(size), binary.BigEndian.Uint32(h[6:10]), nil
}

// checkFrame verifies the CRC of a payload.
func checkFrame(typ byte, payload []byte, crc uint32) error {
	got := crc32.Update(crc32.Checksum([]byte{typ}, crcTable), crcTable, payload)
	if got != crc {
		return fmt.Errorf("%w: checksum mismatch", errCorrupt)
	}
	return nil
}

// decodeFrame reads one frame from the start of b: its type, payload and
// total length. It is what recovery does, on a byte slice (the fuzz target).
func decodeFrame(b []byte) (typ byte, payload []byte, n int, err error) {
	typ, size, crc, err := parseHeader(b)
	if err != nil {
		return 0, nil, 0, err
	}
	if len(b)-frameHeader < size {
		return 0, nil, 0, errShort
	}
	payload = b[frameHeader : frameHeader+size]
	if err := checkFrame(typ, payload, crc); err != nil {
		return 0, nil, 0, err
	}
	return typ, payload, frameHeader + size, nil
}

// putRecord is the decoded form of a put payload. rawOff is the offset of
// the raw message inside the payload.
type putRecord struct {
	ID       string
	Env      Envelope
	State    []byte // per recipient
	Attempts int
	Next     time.Time
	LastErr  string
	Raw      []byte
	rawOff   int
}

// Envelope flags of a put record; a record written before a flag existed
// has it clear.
const (
	flagQuarantine byte = 1 << iota
	flagUTF8
	flagRequireTLS
)

// encodePut builds the payload of a put record.
func encodePut(p *putRecord) []byte {
	b := make([]byte, 0, 256+len(p.Raw))
	b = appendString(b, p.ID)
	var flags byte
	if p.Env.Quarantine {
		flags |= flagQuarantine
	}
	if p.Env.UTF8 {
		flags |= flagUTF8
	}
	if p.Env.RequireTLS {
		flags |= flagRequireTLS
	}
	b = append(b, flags)
	b = appendString(b, p.Env.From)
	b = appendString(b, p.Env.AuthUser)
	b = appendString(b, p.Env.Reason)
	b = appendTime(b, p.Env.Received)
	b = binary.AppendUvarint(b, uint64(p.Attempts))
	b = appendTime(b, p.Next)
	b = appendString(b, p.LastErr)
	b = binary.AppendUvarint(b, uint64(len(p.Env.Rcpt)))
	for i, r := range p.Env.Rcpt {
		b = appendString(b, r.Addr)
		b = appendString(b, r.User)
		b = appendString(b, r.Mailbox)
		local := byte(0)
		if r.Local {
			local = 1
		}
		b = append(b, local, p.State[i])
	}
	b = binary.AppendUvarint(b, uint64(len(p.Raw)))
	return append(b, p.Raw...)
}

// decodePut parses a put payload. Raw aliases payload.
func decodePut(payload []byte) (*putRecord, error) {
	d := decoder{b: payload}
	p := &putRecord{}
	p.ID = d.string()
	flags := d.byte()
	p.Env.Quarantine = flags&flagQuarantine != 0
	p.Env.UTF8 = flags&flagUTF8 != 0
	p.Env.RequireTLS = flags&flagRequireTLS != 0
	p.Env.From = d.string()
	p.Env.AuthUser = d.string()
	p.Env.Reason = d.string()
	p.Env.Received = d.time()
	p.Attempts = int(d.uvarint(1 << 20))
	p.Next = d.time()
	p.LastErr = d.string()
	n := d.uvarint(uint64(len(payload)))
	for i := uint64(0); i < n && d.err == nil; i++ {
		r := Recipient{Addr: d.string(), User: d.string(), Mailbox: d.string()}
		r.Local = d.byte() == 1
		st := d.byte()
		if st > rcptDropped {
			d.fail("recipient state")
		}
		p.Env.Rcpt = append(p.Env.Rcpt, r)
		p.State = append(p.State, st)
	}
	size := d.uvarint(uint64(len(payload)))
	p.rawOff = d.off
	p.Raw = d.bytes(int(size))
	if d.err == nil && d.off != len(payload) {
		d.fail("trailing bytes")
	}
	if d.err == nil && (p.ID == "" || len(p.Env.Rcpt) == 0) {
		d.fail("empty id or no recipients")
	}
	return p, d.err
}

// doneEntry is one recipient's outcome in a done record.
type doneEntry struct {
	Index int
	State byte
}

func encodeDone(id string, entries []doneEntry) []byte {
	b := appendString(nil, id)
	b = binary.AppendUvarint(b, uint64(len(entries)))
	for _, e := range entries {
		b = binary.AppendUvarint(b, uint64(e.Index))
		b = append(b, e.State)
	}
	return b
}

func decodeDone(payload []byte) (string, []doneEntry, error) {
	d := decoder{b: payload}
	id := d.string()
	n := d.uvarint(uint64(len(payload)))
	var out []doneEntry
	for i := uint64(0); i < n && d.err == nil; i++ {
		e := doneEntry{Index: int(d.uvarint(1 << 20)), State: d.byte()}
		if e.State == rcptPending || e.State > rcptDropped {
			d.fail("done state")
		}
		out = append(out, e)
	}
	d.end()
	return id, out, d.err
}

func encodeDefer(id string, attempts int, next time.Time, lastErr string) []byte {
	b := appendString(nil, id)
	b = binary.AppendUvarint(b, uint64(attempts))
	b = appendTime(b, next)
	return appendString(b, lastErr)
}

func decodeDefer(payload []byte) (id string, attempts int, next time.Time, lastErr string, err error) {
	d := decoder{b: payload}
	id = d.string()
	attempts = int(d.uvarint(1 << 20))
	next = d.time()
	lastErr = d.string()
	d.end()
	return id, attempts, next, lastErr, d.err
}

func encodeDelete(id string) []byte { return appendString(nil, id) }

func decodeDelete(payload []byte) (string, error) {
	d := decoder{b: payload}
	id := d.string()
	d.end()
	return id, d.err
}
