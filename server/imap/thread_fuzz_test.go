package imap

import (
	"fmt"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapserver"
)

// FuzzReferences: whatever the Message-IDs, references (loops,
// duplicates, self references) and subjects, REFERENCES threading ends
// and lists every message exactly once.
func FuzzReferences(f *testing.F) {
	f.Add([]byte{1, 0, 2, 1, 3, 1, 4, 3})
	f.Add([]byte{1, 1, 1, 1, 2, 2, 2, 1})
	f.Add([]byte{0, 0, 0, 0, 5, 4, 4, 5})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64 {
			data = data[:64]
		}
		var msgs []*threadMsg
		for i := 0; i+1 < len(data); i += 2 {
			id, ref := data[i]%8, data[i+1]
			m := &threadMsg{num: uint32(len(msgs) + 1), seq: uint32(len(msgs) + 1),
				date:    time.Unix(int64(ref%4), 0),
				subject: []string{"", "A", "B"}[ref%3], reply: ref&8 != 0}
			if id != 0 {
				m.messageID = fmt.Sprint(id)
			}
			for j := byte(0); j < ref%3; j++ {
				m.refs = append(m.refs, fmt.Sprint((ref>>(2*j))%8))
			}
			msgs = append(msgs, m)
		}
		seen := map[uint32]int{}
		var walk func(d imapserver.ThreadData)
		walk = func(d imapserver.ThreadData) {
			for _, n := range d.Chain {
				seen[n]++
			}
			for _, s := range d.SubThreads {
				walk(s)
			}
		}
		for _, r := range references(msgs) {
			walk(threadData(r))
		}
		for _, m := range msgs {
			if seen[m.num] != 1 {
				t.Fatalf("message %d listed %d times", m.num, seen[m.num])
			}
		}
		if len(seen) != len(msgs) {
			t.Fatalf("%d numbers listed for %d messages", len(seen), len(msgs))
		}
	})
}
