package queue

import (
	"bytes"
	"reflect"
	"testing"
	"time"
)

func seedPut() *putRecord {
	return &putRecord{ID: "0005f1e2d3c4b5a600001", Env: Envelope{From: "a@b.test", AuthUser: "a@b.test", Reason: "r",
		Received: time.Unix(1700000000, 5), Quarantine: true,
		Rcpt: []Recipient{{Addr: "u@l.test", Local: true, User: "u@l.test", Mailbox: "Junk"}, {Addr: "x@r.test"}}},
		State: []byte{rcptPending, rcptDelivered}, Attempts: 3, Next: time.Unix(1700000100, 0), LastErr: "451 later",
		Raw: []byte("Subject: x\r\n\r\nbody\r\n")}
}

func seedFrames() [][]byte {
	p := seedPut()
	return [][]byte{
		appendFrame(nil, recPut, encodePut(p)),
		appendFrame(nil, recDone, encodeDone("abc", []doneEntry{{0, rcptDelivered}, {1, rcptFailed}})),
		appendFrame(nil, recDefer, encodeDefer("abc", 2, time.Unix(1700000000, 0), "err")),
		appendFrame(nil, recDelete, encodeDelete("abc")),
	}
}

// FuzzDecodeFrame feeds arbitrary bytes to the spool record decoders, as
// recovery would after a crash or disk corruption: no panic, and a put
// record that decodes re-encodes to the same bytes.
func FuzzDecodeFrame(f *testing.F) {
	for _, s := range seedFrames() {
		f.Add(s)
		f.Add(s[:len(s)-1])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		typ, payload, n, err := decodeFrame(b)
		if err != nil {
			return
		}
		if n > len(b) || n != frameHeader+len(payload) {
			t.Fatalf("frame length %d of %d bytes", n, len(b))
		}
		switch typ {
		case recPut:
			p, err := decodePut(payload)
			if err != nil {
				return
			}
			if !bytes.Equal(encodePut(p), payload) {
				t.Fatalf("put record does not round-trip")
			}
			if !bytes.Equal(payload[p.rawOff:], p.Raw) {
				t.Fatalf("raw offset %d is wrong", p.rawOff)
			}
		case recDone:
			decodeDone(payload)
		case recDefer:
			decodeDefer(payload)
		case recDelete:
			decodeDelete(payload)
		}
	})
}

func TestRecordRoundTrip(t *testing.T) {
	b := bytes.Join(seedFrames(), nil)
	var types []byte
	for len(b) > 0 {
		typ, payload, n, err := decodeFrame(b)
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, typ)
		if typ == recPut {
			p, err := decodePut(payload)
			if err != nil {
				t.Fatal(err)
			}
			want := seedPut()
			if !reflect.DeepEqual(p.Env.Rcpt, want.Env.Rcpt) || p.Env.From != want.Env.From || p.Env.AuthUser != want.Env.AuthUser ||
				!p.Env.Received.Equal(want.Env.Received) || !p.Next.Equal(want.Next) || p.Attempts != 3 || !p.Env.Quarantine ||
				string(p.Raw) != string(want.Raw) || !bytes.Equal(p.State, want.State) || p.LastErr != want.LastErr {
				t.Fatalf("decoded %+v", p)
			}
		}
		b = b[n:]
	}
	if string(types) != "PDRX" {
		t.Fatalf("types %q", types)
	}
	for _, s := range seedFrames() {
		s[len(s)-1] ^= 1
		if _, _, _, err := decodeFrame(s); err == nil {
			t.Fatal("a flipped bit went unnoticed")
		}
	}
}
