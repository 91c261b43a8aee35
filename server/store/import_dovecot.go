package store

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Importing from Dovecot keeps what its Maildir side files say: keyword
// names (dovecot-keywords) and UIDs (dovecot-uidlist). The importer
// writes both beside the messages it copies, before copying them, so
// that the store (or a running server's scan) reads them when it first
// indexes the files.

// ReadDovecotKeywords returns the keywords of a Dovecot Maildir folder by
// file-name letter ('a' is keyword 0); nil when it has none.
func ReadDovecotKeywords(dir string) map[byte]string { return dovecotKeywords(dir) }

// ReadUIDList returns the dovecot-uidlist of a Maildir folder, nil when it
// has none or it is unreadable.
func ReadUIDList(dir string) *UIDList { return readUIDList(dir) }

// KeywordLetters makes sure the dovecot-keywords file of the mailbox
// directory dir names every keyword of names, adding the missing ones,
// and returns each keyword's file-name letter. At most 26 keywords fit
// (Dovecot's own limit for Maildir names); the others are not in the map.
func KeywordLetters(dir string, names []string) (map[string]byte, error) {
	have := dovecotKeywords(dir)
	if have == nil {
		have = map[byte]string{}
	}
	out := map[string]byte{}
	for l, n := range have {
		out[n] = l
	}
	added := false
	for _, n := range names {
		if _, ok := out[n]; ok || !validKeyword(n) {
			continue
		}
		for l := byte('a'); l <= 'z'; l++ {
			if _, used := have[l]; !used {
				have[l], out[n], added = n, l, true
				break
			}
		}
	}
	if !added {
		return out, nil
	}
	letters := make([]int, 0, len(have))
	for l := range have {
		letters = append(letters, int(l))
	}
	sort.Ints(letters)
	var b bytes.Buffer
	for _, l := range letters {
		fmt.Fprintf(&b, "%d %s\n", l-'a', have[byte(l)])
	}
	return out, writeFileAtomic(filepath.Join(dir, dovecotKeywordsFile), b.Bytes())
}

// MergeUIDList adds src's UIDs for the named bases to the dovecot-uidlist
// of the mailbox directory dir. A directory without one takes src's
// UIDVALIDITY; one with another UIDVALIDITY is left alone (ok false: the
// messages get new UIDs).
func MergeUIDList(dir string, src *UIDList, bases []string) (ok bool, err error) {
	dst := readUIDList(dir)
	if dst == nil {
		dst = &UIDList{Validity: src.Validity, UIDs: map[string]uint32{}}
	}
	if dst.Validity != src.Validity {
		return false, nil
	}
	for _, b := range bases {
		if u, ok := src.UIDs[b]; ok {
			dst.UIDs[b] = u
		}
	}
	if src.Next > dst.Next {
		dst.Next = src.Next
	}
	var buf bytes.Buffer
	dst.WriteTo(&buf)
	return true, writeFileAtomic(filepath.Join(dir, DovecotUIDListFile), buf.Bytes())
}

// writeFileAtomic replaces path by data through a synced temporary file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".import-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err = tmp.Write(data); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	return err
}
