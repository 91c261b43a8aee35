package store

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// DovecotUIDListFile is where Dovecot keeps a Maildir's UIDVALIDITY and
// each message's UID (https://doc.dovecot.org/admin_manual/mailbox_formats/maildir/).
// When the store first indexes a mailbox whose directory holds one, it
// takes the UIDVALIDITY and the UIDs from it, so that mail clients that
// knew the old server keep their caches instead of fetching everything
// again; `sluice import maildir` writes one for the files it copies.
const DovecotUIDListFile = "dovecot-uidlist"

// UIDList is a parsed dovecot-uidlist.
type UIDList struct {
	Validity uint32
	Next     uint32            // the next UID the old server would give
	UIDs     map[string]uint32 // by Maildir base name (without ":2,flags")
}

// ParseUIDList reads a dovecot-uidlist of version 1 ("1 VALIDITY NEXT")
// or 3 ("3 V<validity> N<next> G<guid>", then "UID [ext...] :BASE").
func ParseUIDList(r io.Reader) (*UIDList, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 1<<20)
	if !sc.Scan() {
		return nil, fmt.Errorf("dovecot-uidlist: empty")
	}
	head := strings.Fields(sc.Text())
	ul := &UIDList{UIDs: map[string]uint32{}}
	if len(head) == 0 {
		return nil, fmt.Errorf("dovecot-uidlist: no header")
	}
	switch head[0] {
	case "1":
		if len(head) < 3 {
			return nil, fmt.Errorf("dovecot-uidlist: short version 1 header")
		}
		ul.Validity, ul.Next = atou32(head[1]), atou32(head[2])
	case "3":
		for _, f := range head[1:] {
			switch {
			case strings.HasPrefix(f, "V"):
				ul.Validity = atou32(f[1:])
			case strings.HasPrefix(f, "N"):
				ul.Next = atou32(f[1:])
			}
		}
	default:
		return nil, fmt.Errorf("dovecot-uidlist: version %q not supported", head[0])
	}
	if ul.Validity == 0 {
		return nil, fmt.Errorf("dovecot-uidlist: no UIDVALIDITY")
	}
	for sc.Scan() {
		line := sc.Text()
		num, rest, ok := strings.Cut(line, " ")
		uid := atou32(num)
		if !ok || uid == 0 {
			continue
		}
		base := rest
		if head[0] == "3" {
			i := strings.IndexByte(rest, ':')
			if i < 0 {
				continue
			}
			base = rest[i+1:]
		}
		if base, _, _ = splitName(base); base != "" {
			ul.UIDs[base] = uid
		}
	}
	return ul, sc.Err()
}

func atou32(s string) uint32 {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0
	}
	return uint32(n)
}

// WriteTo writes ul in version 3 form, UIDs ascending.
func (ul *UIDList) WriteTo(w io.Writer) (int64, error) {
	type entry struct {
		uid  uint32
		base string
	}
	list := make([]entry, 0, len(ul.UIDs))
	for b, u := range ul.UIDs {
		list = append(list, entry{u, b})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].uid < list[j].uid })
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "3 V%d N%d\n", ul.Validity, ul.Next)
	for _, e := range list {
		fmt.Fprintf(bw, "%d :%s\n", e.uid, e.base)
	}
	return 0, bw.Flush()
}

// readUIDList returns the dovecot-uidlist of a mailbox directory, nil
// when there is none or it cannot be read.
func readUIDList(dir string) *UIDList {
	f, err := os.Open(filepath.Join(dir, DovecotUIDListFile))
	if err != nil {
		return nil
	}
	defer f.Close()
	ul, err := ParseUIDList(f)
	if err != nil {
		return nil
	}
	return ul
}

// assignUIDs gives new files their UIDs, from next on, in delivery order.
// For a mailbox that never gave a UID, a dovecot-uidlist beside it sets
// the UIDVALIDITY and the UIDs of the files it names (listed files first,
// in UID order; the others after them). It returns the UIDs by base, the
// next UID and the UIDVALIDITY to keep.
func assignUIDs(dir string, bases []string, next, validity uint32, empty bool) (map[string]uint32, uint32, uint32) {
	out := make(map[string]uint32, len(bases))
	var ul *UIDList
	if empty && next == 1 {
		ul = readUIDList(dir)
	}
	if ul != nil {
		validity = ul.Validity
		sort.SliceStable(bases, func(i, j int) bool {
			ui, oki := ul.UIDs[bases[i]]
			uj, okj := ul.UIDs[bases[j]]
			if oki != okj {
				return oki
			}
			return oki && ui < uj
		})
	}
	for _, b := range bases {
		uid := next
		if ul != nil {
			if u, ok := ul.UIDs[b]; ok && u >= next {
				uid = u
			}
		}
		out[b] = uid
		next = uid + 1
	}
	if ul != nil && ul.Next > next {
		next = ul.Next
	}
	return out, next, validity
}
