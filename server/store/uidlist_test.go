package store

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A dovecot-uidlist as Dovecot 2.3 writes it (version 3, extension
// fields before the ':' of the file name).
const sampleUIDList = `3 V1712345678 N43 G2a2b3c4d5e6f708192a3b4c5d6e7f80
7 :1712345600.M1P100.old.example,S=60,W=62
12 W80 :1712345601.M2P100.old.example,S=70,W=72
42 :1712345602.M3P100.old.example,S=80,W=82
`

func TestParseUIDList(t *testing.T) {
	ul, err := ParseUIDList(strings.NewReader(sampleUIDList))
	if err != nil {
		t.Fatal(err)
	}
	if ul.Validity != 1712345678 || ul.Next != 43 || len(ul.UIDs) != 3 || ul.UIDs["1712345601.M2P100.old.example,S=70,W=72"] != 12 {
		t.Fatalf("%+v", ul)
	}
	var b bytes.Buffer
	ul.WriteTo(&b)
	again, err := ParseUIDList(&b)
	if err != nil || again.Validity != ul.Validity || again.Next != ul.Next || len(again.UIDs) != 3 || again.UIDs["1712345602.M3P100.old.example,S=80,W=82"] != 42 {
		t.Errorf("round trip: %+v %v", again, err)
	}
	v1, err := ParseUIDList(strings.NewReader("1 1100000000 5\n3 1100000001.M1.host\n"))
	if err != nil || v1.Validity != 1100000000 || v1.UIDs["1100000001.M1.host"] != 3 {
		t.Errorf("version 1: %+v %v", v1, err)
	}
	for _, bad := range []string{"", "2 V1 N1\n", "3 N5\n", "1 x\n"} {
		if _, err := ParseUIDList(strings.NewReader(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestUIDListKeptOnFirstIndex: a mailbox whose files and dovecot-uidlist
// came from Dovecot gets Dovecot's UIDVALIDITY and UIDs when the store
// first indexes it, a file the list does not name comes after them, and a
// later change of the list does nothing to a mailbox already indexed.
func TestUIDListKeptOnFirstIndex(t *testing.T) {
	s, data := openTest(t, Options{Hostname: "testhost"})
	const user = "uid@example.org"
	if err := s.EnsureUser(user); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(data, "mail", "example.org", "uid", ".Archive")
	os.WriteFile(filepath.Join(dir, DovecotUIDListFile), []byte(sampleUIDList), 0o600)
	for i, name := range []string{"1712345600.M1P100.old.example,S=60,W=62:2,S", "1712345601.M2P100.old.example,S=70,W=72:2,",
		"1712345602.M3P100.old.example,S=80,W=82:2,RS", "1712345700.M9P1.new.example:2,"} {
		os.WriteFile(filepath.Join(dir, "cur", name), []byte("Subject: m"+string(rune('0'+i))+"\r\n\r\nx\r\n"), 0o600)
	}
	a, err := s.Account(user)
	if err != nil {
		t.Fatal(err)
	}
	m, err := a.Mailbox("Archive")
	if err != nil {
		t.Fatal(err)
	}
	var uids []uint32
	for _, msg := range m.msgs {
		uids = append(uids, msg.UID)
	}
	if m.validity != 1712345678 || len(uids) != 4 || uids[0] != 7 || uids[1] != 12 || uids[2] != 42 || uids[3] != 43 || m.next != 44 {
		t.Fatalf("validity %d next %d uids %v", m.validity, m.next, uids)
	}
	// Durable in the index: another store over the same data reads it.
	s.Close()
	s2, err := Open(data, Options{Hostname: "testhost"})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	a2, _ := s2.Account(user)
	m2, _ := a2.Mailbox("Archive")
	if m2.validity != 1712345678 || m2.next != 44 {
		t.Errorf("after reopening: validity %d next %d", m2.validity, m2.next)
	}
	// Already indexed: a new list and file change neither.
	os.WriteFile(filepath.Join(dir, DovecotUIDListFile), []byte("3 V99 N1000\n900 :1712345800.M1.x\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "cur", "1712345800.M1.x:2,"), []byte("Subject: late\r\n\r\nx\r\n"), 0o600)
	if err := m2.Sync(true); err != nil {
		t.Fatal(err)
	}
	last := m2.msgs[len(m2.msgs)-1]
	if m2.validity != 1712345678 || last.UID != 44 {
		t.Errorf("an indexed mailbox followed a new list: validity %d, uid %d", m2.validity, last.UID)
	}
}

func FuzzParseUIDList(f *testing.F) {
	f.Add(sampleUIDList)
	f.Add("1 1100000000 5\n3 1100000001.M1.host\n")
	f.Add("3 V1 N0\n0 :x\n4294967295 W1 :y:2,S\n")
	f.Fuzz(func(t *testing.T, in string) {
		ul, err := ParseUIDList(strings.NewReader(in))
		if err != nil {
			return
		}
		if ul.Validity == 0 {
			t.Fatal("accepted a list without UIDVALIDITY")
		}
		for base, uid := range ul.UIDs {
			if uid == 0 || base == "" || strings.Contains(base, ":2,") {
				t.Fatalf("entry %q -> %d", base, uid)
			}
		}
		var b bytes.Buffer
		ul.WriteTo(&b)
		again, err := ParseUIDList(&b)
		if err != nil || again.Validity != ul.Validity {
			t.Fatalf("round trip: %v", err)
		}
	})
}
