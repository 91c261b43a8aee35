package store

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

const keysMsg = "From: \"Doe, John\" <John.Doe@Example.NET> (work)\r\n" +
	"To: undisclosed-recipients:;, bob@example.org\r\n" +
	"Cc: Carol <carol@example.org>\r\n" +
	"Subject: Re: [list] Fwd: Mortgage  rates\r\n" +
	"Date: Tue, 01 Oct 2002 10:00:00 +0200\r\n" +
	"Message-ID: <abc@example.net>\r\n\r\nbody\r\n"

// keysInbox delivers keysMsg to bob's INBOX and opens it.
func keysInbox(t *testing.T, s *Store) *Mailbox {
	t.Helper()
	const user = "bob@example.org"
	if err := s.Deliver(user, "INBOX", []byte(keysMsg), "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	return inbox(t, s, user)
}

// Indexing a message derives its keys from the header once: decoded,
// lower-cased search forms of every address (a comment does not hide
// one, a group counts by its name), RFC 5256 sort keys, the sent date.
func TestKeysOfIndexedMessage(t *testing.T) {
	s, _ := openTest(t, Options{Hostname: "testhost"})
	const user = "bob@example.org"
	if err := s.Deliver(user, "INBOX", []byte(keysMsg), "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Deliver(user, "INBOX", []byte("Subject: no date\r\n\r\nx\r\n"), "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	m := inbox(t, s, user)
	var k, bare *Keys
	m.View(func(msgs []*Message) error {
		k, bare = msgs[0].Keys(), msgs[1].Keys()
		return nil
	})
	sent, ok := k.SentDate()
	got := fmt.Sprintf("%q %q %v %q %q %q %q %q %q %q %q %v %q",
		k.Subject, k.BaseSubject, k.Reply, k.From, k.To, k.Cc, k.FromMailbox, k.ToMailbox, k.CcMailbox,
		k.DisplayFrom, k.DisplayTo, ok, k.MessageID)
	want := `"re: [list] fwd: mortgage  rates" "MORTGAGE RATES" true ["doe, john <john.doe@example.net>"] ["undisclosed-recipients" "bob@example.org"] ["carol <carol@example.org>"] "JOHN.DOE" "UNDISCLOSED-RECIPIENTS" "CAROL" "DOE, JOHN" "UNDISCLOSED-RECIPIENTS" true "abc@example.net"`
	if got != want {
		t.Fatalf("keys\n got %s\nwant %s", got, want)
	}
	if !sent.Equal(time.Date(2002, 10, 1, 8, 0, 0, 0, time.UTC)) {
		t.Fatalf("sent date %v", sent)
	}
	if _, ok := bare.SentDate(); ok || bare.BaseSubject != "NO DATE" || bare.From != nil {
		t.Fatalf("keys of a message without Date or From: %+v", bare)
	}
}

// An index written before keys were kept (or with keys of another
// version) is read as it is, and loading the mailbox fills the keys in,
// in the index too, so the next load does not derive them again.
func TestOldIndexGetsKeys(t *testing.T) {
	s, data := openTest(t, Options{Hostname: "testhost"})
	const user = "bob@example.org"
	for i := range 3 {
		if err := s.Deliver(user, "INBOX", msg(i), "", time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Deliver(user, "INBOX", []byte(keysMsg), "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	before := snap(t, inbox(t, s, user))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Make it an old index: no keys on three entries, an old version on one.
	path := filepath.Join(data, "mail", "example.org", "bob", IndexFile)
	rewrite(t, path, func(uid uint32, r *record) {
		if uid == 2 {
			r.Keys.Version, r.Keys.From = 0, nil
		} else {
			r.Keys = nil
		}
	})

	s = reopen(t, s, data)
	m := inbox(t, s, user)
	if after := snap(t, m); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("after upgrade %v, want %v", after, before)
	}
	var from [][]string
	m.View(func(msgs []*Message) error {
		for _, msg := range msgs {
			from = append(from, msg.Keys().From)
		}
		return nil
	})
	if want := `[[sender 0 <s0@example.net>] [sender 1 <s1@example.net>] [sender 2 <s2@example.net>] [doe, john <john.doe@example.net>]]`; fmt.Sprint(from) != want {
		t.Fatalf("keys after upgrade: %v, want %s", from, want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rewrite(t, path, func(uid uint32, r *record) {
		if r.Keys == nil || r.Keys.Version != keysVersion || len(r.Keys.From) != 1 {
			t.Errorf("entry %d not filled in: %+v", uid, r.Keys)
		}
	})
}

// rewrite edits every message entry of INBOX in a closed index.
func rewrite(t *testing.T, path string, edit func(uid uint32, r *record)) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bBoxes).Bucket([]byte("INBOX")).Bucket(bMsgs)
		edited := map[string][]byte{}
		b.ForEach(func(k, v []byte) error {
			var r record
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			edit(uint32(getU64(append(make([]byte, 4), k...))), &r)
			out, _ := json.Marshal(r)
			edited[string(k)] = out
			return nil
		})
		for k, v := range edited {
			if err := b.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
