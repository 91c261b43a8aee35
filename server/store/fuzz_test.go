package store

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzCleanName checks that any accepted mailbox name maps to one folder
// directory inside the user's directory, and back to itself.
func FuzzCleanName(f *testing.F) {
	for _, s := range []string{"INBOX", "inbox.x", "Sent", "a.b.c", "../etc", "a/b", "Entwürfe", "&AGE-", "a..b", ".x", "x.", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		clean, err := CleanName(name)
		if err != nil {
			return
		}
		again, err := CleanName(clean)
		if err != nil || again != clean {
			t.Fatalf("CleanName not idempotent: %q -> %q -> %q, %v", name, clean, again, err)
		}
		dir := folderDir(clean)
		if clean == Inbox {
			return
		}
		if strings.ContainsAny(dir, "/\\\x00") || strings.Contains(dir, "..") || dir == "." || !strings.HasPrefix(dir, ".") {
			t.Fatalf("folderDir(%q) = %q escapes", clean, dir)
		}
		user := "/root/d/u"
		if p := filepath.Join(user, dir); filepath.Dir(p) != user {
			t.Fatalf("folder %q of %q is not a child of the user dir: %q", dir, clean, p)
		}
		back, ok := nameOfDir(dir)
		if !ok || back != clean {
			t.Fatalf("nameOfDir(folderDir(%q)) = %q, %v", clean, back, ok)
		}
	})
}

// FuzzDecodeUTF7 checks that decoding accepts only canonical spellings:
// whatever decodes encodes back to the same bytes.
func FuzzDecodeUTF7(f *testing.F) {
	for _, s := range []string{"abc", "&-", "&APw-", "Entw&APw-rfe", "&ZeVnLIqe-", "&2D3eAA-", "&", "&AGE-", "&APw-&APw-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		dec, err := decodeUTF7(s)
		if err != nil {
			return
		}
		if !utf8.ValidString(dec) {
			t.Fatalf("decodeUTF7(%q) gave invalid UTF-8", s)
		}
		if enc := encodeUTF7(dec); enc != s {
			t.Fatalf("decodeUTF7(%q) = %q, which encodes as %q", s, dec, enc)
		}
	})
}

// FuzzSplitName checks the Maildir file-name parser: base and flags put
// back together give the name, and cleaned flags are sorted letters.
func FuzzSplitName(f *testing.F) {
	for _, s := range []string{"1.M2P3Q4.host,S=10:2,FS", "x", "a:2,b:2,RS", ":2,", "x,S=99999999999999999999:2,zzZ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		base, flags, has := splitName(name)
		if has && base+infoSep+flags != name || !has && (base != name || flags != "") {
			t.Fatalf("splitName(%q) = %q, %q, %v", name, base, flags, has)
		}
		c := CleanFlags(flags)
		for i := 0; i < len(c); i++ {
			if !(c[i] >= 'A' && c[i] <= 'Z' || c[i] >= 'a' && c[i] <= 'z') || i > 0 && c[i-1] >= c[i] {
				t.Fatalf("CleanFlags(%q) = %q", flags, c)
			}
		}
		_ = sizeOfBase(base)
	})
}

// FuzzDovecotKeywords checks that whatever a dovecot-keywords file holds,
// only letters a-z map, and only to valid IMAP keywords.
func FuzzDovecotKeywords(f *testing.F) {
	f.Add("0 $Label1\n1 Work\n")
	f.Add("25 z\n26 over\n-1 neg\n3 bad(kw\n4 \\Seen\n")
	f.Fuzz(func(t *testing.T, s string) {
		for letter, kw := range parseDovecotKeywords(strings.NewReader(s)) {
			if letter < 'a' || letter > 'z' || !validKeyword(kw) {
				t.Fatalf("%q -> %q", letter, kw)
			}
		}
	})
}

// FuzzUnmarshalRecord: an index entry of any bytes is read or refused,
// never panics, and what the binary layout reads writes back the same.
func FuzzUnmarshalRecord(f *testing.F) {
	f.Add(marshalRecord(&record{Base: "b", Flags: "S", Keywords: []string{"k"}, Size: 3, Date: 4, ModSeq: 5,
		Envelope: []byte(`{}`)}, []byte(`{"v":3}`)))
	f.Add([]byte(`{"b":"x","s":1,"d":2,"m":3}`))
	f.Add([]byte{recordTag, 0x80})
	f.Fuzz(func(t *testing.T, v []byte) {
		var r loadedRecord
		bin, err := unmarshalRecord(v, &r)
		if err != nil || !bin {
			return
		}
		again := marshalRecord(&r.record, r.Keys)
		var r2 loadedRecord
		if _, err := unmarshalRecord(again, &r2); err != nil || !reflect.DeepEqual(r, r2) {
			t.Fatalf("%q read as %+v, written back as %q, read again as %+v (%v)", v, r, again, r2, err)
		}
	})
}
