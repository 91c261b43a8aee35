package imap

import (
	"fmt"
	"testing"
)

// TestParseIMAPURL: the URL forms CATENATE takes, and the ones it must
// refuse with BADURL rather than guess at.
func TestParseIMAPURL(t *testing.T) {
	for _, c := range []struct {
		in, want string // want: mailbox validity uid part specifier partial, or "error"
	}{
		{"/INBOX/;UID=5", "INBOX 0 5 [] "},
		{"/Sent%20Items;UIDVALIDITY=42/;uid=7/;section=1.2.MIME", "Sent Items 42 7 [1 2] MIME"},
		{"imap://alice@example.org/INBOX/;UID=3/;SECTION=HEADER", "INBOX 0 3 [] HEADER"},
		{"/INBOX/;UID=3/;PARTIAL=10.20", "INBOX 0 3 [] 10+20"},
		{"/INBOX/;UID=3/;section=text/;partial=4", "INBOX 0 3 [] TEXT"},
		{"INBOX/;UID=3", "error"},
		{"/INBOX/;UID=0", "error"},
		{"/INBOX", "error"},
		{"/INBOX;UIDVALIDITY=x/;UID=1", "error"},
		{"/INBOX/;UID=1/;SECTION=MIME", "error"},
		{"/INBOX/;UID=1/;SECTION=HEADER.1", "error"},
		{"/INBOX/;UID=1/;PARTIAL=1.0", "error"},
		{"/INBOX/;UID=1/;URLAUTH=anonymous", "error"},
		{"/%zz/;UID=1", "error"},
	} {
		u, err := parseIMAPURL(c.in)
		got := "error"
		if err == nil {
			got = fmt.Sprintf("%s %d %d %v %s", u.mailbox, u.validity, u.uid, u.section.Part, u.section.Specifier)
			if p := u.section.Partial; p != nil && p.Size < 1<<40 {
				got = fmt.Sprintf("%s %d %d %v %d+%d", u.mailbox, u.validity, u.uid, u.section.Part, p.Offset, p.Size)
			}
		}
		if got != c.want {
			t.Errorf("parseIMAPURL(%q) = %q (%v), want %q", c.in, got, err, c.want)
		}
	}
}

// FuzzParseIMAPURL: any text gives a URL or an error, never a panic, and
// a parsed URL always names a message.
func FuzzParseIMAPURL(f *testing.F) {
	for _, s := range []string{"/INBOX/;UID=5", "imap://a@b/X;UIDVALIDITY=1/;UID=2/;SECTION=1.HEADER/;PARTIAL=0.9", "/a/;uid=1/;section=1.2.3.text"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if u, err := parseIMAPURL(s); err == nil && (u.uid == 0 || u.mailbox == "") {
			t.Fatalf("%q parsed without a message: %+v", s, u)
		}
	})
}
