package store

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestRecordRoundTrip: every field of an entry comes back from the
// binary layout as written, empty fields included.
func TestRecordRoundTrip(t *testing.T) {
	for _, r := range []record{
		{Base: "1733.M1P2.host", Flags: "FS", Keywords: []string{"$Forwarded", "Junk"}, Size: 5120,
			Date: time.Date(2002, 8, 1, 0, 0, 0, 0, time.UTC).UnixNano(), ModSeq: 1 << 40,
			Envelope: json.RawMessage(`{"Subject":"hi"}`)},
		{Base: "b", Sub: "new", Date: -1}, // lazily indexed: no content yet
		{},
	} {
		keys := []byte(`{"v":3,"s":"hi"}`)
		if r.Envelope == nil {
			keys = nil
		}
		var got loadedRecord
		bin, err := unmarshalRecord(marshalRecord(&r, keys), &got)
		if err != nil || !bin {
			t.Fatalf("%+v: binary %v, %v", r, bin, err)
		}
		want := loadedRecord{record: r, Keys: keys}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("round trip\n got %+v\nwant %+v", got, want)
		}
	}
}

// TestRecordCutShort: an entry cut anywhere is refused, never read past
// its end or taken for a shorter one.
func TestRecordCutShort(t *testing.T) {
	r := record{Base: "base", Flags: "S", Keywords: []string{"k1", "k2"}, Size: 300, Date: 7, ModSeq: 9,
		Envelope: json.RawMessage(`{"Subject":"x"}`)}
	full := marshalRecord(&r, []byte(`{"v":3}`))
	for i := 1; i < len(full); i++ {
		var got loadedRecord
		if _, err := unmarshalRecord(full[:i], &got); err == nil {
			t.Errorf("entry cut to %d of %d bytes read as %+v", i, len(full), got)
		}
	}
}

// TestJSONEntriesRewritten: entries of index version 1 (JSON) load as
// they were and are written back in the binary layout.
func TestJSONEntriesRewritten(t *testing.T) {
	s, data := openTest(t, Options{Hostname: "testhost"})
	const user = "bob@example.org"
	m := keysInbox(t, s)
	if err := m.SetFlags([]uint32{1}, '+', []string{`\Flagged`, "Work"}, nil); err != nil {
		t.Fatal(err)
	}
	m.RenameFiles()
	var want Message
	var wantKeys Keys
	m.View(func(msgs []*Message) error {
		want, wantKeys = *msgs[0], *msgs[0].Keys()
		return nil
	})
	// Write the entry back as version 1 did.
	a, _ := s.Account(user)
	err := a.db.Update(func(tx *bolt.Tx) error {
		b, _ := boxBucket(tx, "INBOX", false)
		var r loadedRecord
		k := uidKey(1)
		if _, err := unmarshalRecord(b.Bucket(bMsgs).Get(k), &r); err != nil {
			return err
		}
		v, err := json.Marshal(r)
		if err != nil {
			return err
		}
		return b.Bucket(bMsgs).Put(k, v)
	})
	if err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s, data)
	m = inbox(t, s, user)
	m.View(func(msgs []*Message) error {
		got := msgs[0]
		if got.UID != want.UID || got.Flags != want.Flags || !reflect.DeepEqual(got.Keywords, want.Keywords) ||
			got.size != want.size || !got.date.Equal(want.date) || got.ModSeq != want.ModSeq ||
			!bytes.Equal(got.env, want.env) || !reflect.DeepEqual(*got.Keys(), wantKeys) {
			t.Errorf("loaded from JSON\n got %+v\nwant %+v", got, want)
		}
		return nil
	})
	a, _ = s.Account(user)
	a.db.View(func(tx *bolt.Tx) error {
		b, _ := boxBucket(tx, "INBOX", false)
		if v := b.Bucket(bMsgs).Get(uidKey(1)); len(v) == 0 || v[0] != recordTag {
			t.Errorf("entry not rewritten in the binary layout: %q", v)
		}
		return nil
	})
}
