package store

import (
	"reflect"
	"testing"
)

// TestKeysReadWhenAsked: after a restart the keys stay as the index
// stores them until a SEARCH asks, then decode to what indexing derived;
// a full entry written meanwhile (the fill, a stale entry) keeps them.
func TestKeysReadWhenAsked(t *testing.T) {
	s, data := openTest(t, Options{Hostname: "testhost"})
	const user = "bob@example.org"
	var want Keys
	keysInbox(t, s).View(func(msgs []*Message) error {
		want = *msgs[0].Keys()
		return nil
	})
	s = reopen(t, s, data)
	m := inbox(t, s, user)
	var got Keys
	m.View(func(msgs []*Message) error {
		msg := msgs[0]
		if msg.keys != nil || msg.storedKeys == nil {
			t.Errorf("keys decoded by the load: keys %v, stored %v", msg.keys, msg.storedKeys)
		}
		got = *msg.Keys()
		// A whole entry written now carries them, decoded.
		var r loadedRecord
		if _, err := unmarshalRecord(encodeRecord(msg), &r); err != nil || !currentKeys(r.Keys) {
			t.Errorf("entry written without keys: %q, %v", r.Keys, err)
		}
		return nil
	})
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("keys after restart\n got %+v\nwant %+v", got, want)
	}
}
