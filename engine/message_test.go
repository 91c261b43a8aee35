package engine

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestHeaderParsing(t *testing.T) {
	raw := "From: =?ISO-8859-1?Q?Andr=E9?= <Andre@Example.COM>\r\n" +
		"To: a@x.example, \"B, Jr\" <b@y.example>\r\nCc: c@z.example\r\n" +
		"Subject: =?UTF-8?B?w4dhIHZh?=\r\n =?utf-8?q?_bien?=\r\n" +
		"Reply-To: reply@other.example\r\nX-Dup: one\r\nX-Dup: two\r\nMessage-ID: <abc@x>\r\n\r\nbody\r\n"
	m := NewMessage(Envelope{}, []byte(raw))
	tx := (&Pipeline{}).Begin(m)
	tx.loadMsg()
	f := tx.facts.Msg
	if f.From != "andre@example.com" || f.FromName != "André" || f.FromDomain != "example.com" {
		t.Errorf("from: %q %q %q", f.From, f.FromName, f.FromDomain)
	}
	if f.Subject != "Ça va bien" {
		t.Errorf("subject %q", f.Subject)
	}
	if !slices.Equal(f.To, []string{"a@x.example", "b@y.example", "c@z.example"}) || f.ReplyToDomain != "other.example" {
		t.Errorf("to %v reply-to %q", f.To, f.ReplyToDomain)
	}
	if f.MessageID != "abc@x" || f.Malformed || f.Size != len(raw) {
		t.Errorf("id %q malformed %v size %d", f.MessageID, f.Malformed, f.Size)
	}
	if got := m.Header().Values("x-dup"); !slices.Equal(got, []string{"one", "two"}) {
		t.Errorf("values %v", got)
	}
	if got := string(m.Raw[m.Header().BodyOffset:]); got != "body\r\n" {
		t.Errorf("body offset gives %q", got)
	}
}

func TestBodyParsing(t *testing.T) {
	raw := strings.ReplaceAll(`From: a@example.net
Subject: parts
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Caf=E9 at www.cafe.example/menu and https://Shop.Example.ORG/x?y=1.
--inner
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

PGh0bWw+PHN0eWxlPnAge308L3N0eWxlPjxwPkhlbGxvIDxhIGhyZWY9Imh0dHA6Ly90cmFjay5leGFtcGxlL2NsaWNrIj5oZXJlPC9hPjwvcD48L2h0bWw+
--inner--
--outer
Content-Type: application/pdf; name="report.pdf"
Content-Disposition: attachment; filename="=?utf-8?q?r=C3=A9sum=C3=A9.pdf?="
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--outer--
`, "\n", "\r\n")
	b := NewMessage(Envelope{}, []byte(raw)).Body()
	if b.Defect != "" {
		t.Errorf("defect %q", b.Defect)
	}
	if !strings.Contains(b.Text, "Café at www.cafe.example/menu") || !strings.Contains(b.Text, "Hello here") || strings.Contains(b.Text, "p {}") {
		t.Errorf("text %q", b.Text)
	}
	if !b.HTML || len(b.Attachments) != 1 || b.Attachments[0].Name != "résumé.pdf" || b.Attachments[0].ContentType != "application/pdf" || b.Attachments[0].Size != 9 {
		t.Errorf("html %v attachments %+v", b.HTML, b.Attachments)
	}
	want := []string{"track.example", "www.cafe.example", "shop.example.org"}
	if !slices.Equal(b.URLDomains, want) {
		t.Errorf("url domains %v, want %v (urls %v)", b.URLDomains, want, b.URLs)
	}
}

// TestMalformed feeds broken messages: each must parse without panicking,
// keep what can be read, and say it is malformed where it is.
func TestMalformed(t *testing.T) {
	cases := []struct {
		name, raw string
		malformed bool
	}{
		{"no header end", "Subject: cut off", true},
		{"garbage line", "Subject: x\r\nthis is not a header\r\n\r\nbody", true},
		{"nul in header", "Subject: a\x00b\r\n\r\nbody", true},
		{"bare LF", "Subject: lf\nFrom: a@b.example\n\nbody\n", false},
		{"bad From", "From: <<<@@@>>>\r\n\r\nx", true},
		{"empty", "", true},
		{"unclosed multipart", "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhello", true},
		{"bad base64", "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!notbase64!!!\r\n", true},
		{"unknown charset", "Content-Type: text/plain; charset=x-klingon\r\n\r\nqapla'\r\n", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tx := (&Pipeline{}).Begin(NewMessage(Envelope{}, []byte(c.raw)))
			tx.loadMsg()
			tx.loadBody()
			if c.name == "unclosed multipart" && !strings.Contains(tx.facts.Msg.Text, "hello") {
				t.Errorf("text %q: the readable part is lost", tx.facts.Msg.Text)
			}
			if tx.facts.Msg.Malformed != c.malformed {
				t.Errorf("malformed %v (%q), want %v", tx.facts.Msg.Malformed, tx.facts.Msg.MalformedReason, c.malformed)
			}
		})
	}
}

// TestDovecotMalformed runs Dovecot's malformed-MIME inputs through the
// whole parse: no panic, and the text that is there is found.
func TestDovecotMalformed(t *testing.T) {
	files, _ := filepath.Glob("testdata/mime/dovecot-malformed/*.eml")
	if len(files) < 17 {
		t.Fatalf("found %d fixtures", len(files))
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p := &Pipeline{}
		tx := p.Begin(NewMessage(Envelope{}, raw))
		tx.loadMsg()
		tx.loadBody()
		if tx.m.Header().Defect == "" && len(tx.m.Header().Fields) == 0 {
			t.Errorf("%s: no header fields parsed", f)
		}
		_ = p.Begin(NewMessage(Envelope{}, raw)).Evaluate(context.Background(), PhaseData)
	}
}

func TestListMatching(t *testing.T) {
	l, err := NewList("t", []string{"a@x.example", "y.example", ".z.example", "10.0.0.0/8", "2001:db8::/32", "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	for v, want := range map[string]bool{
		"A@X.example": true, "b@x.example": false, "b@y.example": true, "y.example": true, "sub.y.example": false,
		"z.example": true, "q@deep.sub.z.example": true, "10.1.2.3": true, "::ffff:10.1.2.3": true, "2001:db8::5": true,
		"192.0.2.1": true, "192.0.2.2": false, "": false, "<a@x.example>": true,
	} {
		if got := l.Contains(v); got != want {
			t.Errorf("Contains(%q) = %v, want %v", v, got, want)
		}
	}
}

func FuzzMessage(f *testing.F) {
	files, _ := filepath.Glob("testdata/mime/dovecot-malformed/*.eml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("Subject: =?utf-8?b?////?=\r\nContent-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		tx := (&Pipeline{}).Begin(NewMessage(Envelope{}, raw))
		tx.loadMsg()
		tx.loadBody()
		h := tx.m.Header()
		if h.BodyOffset < 0 || h.BodyOffset > len(raw) {
			t.Fatalf("body offset %d outside 0..%d", h.BodyOffset, len(raw))
		}
	})
}

func TestFindURLs(t *testing.T) {
	text := "see https://a.example/x?y=1, or WWW.B.example. Not xhttp://c.example nor www. alone; <http://d.example/p>\nhttps://"
	got := findURLs(text, 10)
	want := []string{"https://a.example/x?y=1,", "WWW.B.example.", "http://d.example/p"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := findURLs("Buy at http://www.bücher.example/x now", 5); len(got) != 1 || URLHost(got[0]) != "www.bücher.example" {
		t.Errorf("IDN: got %q", got)
	}
	if got := findURLs(strings.Repeat("http://x.example ", 50), 7); len(got) != 7 {
		t.Errorf("limit: got %d", len(got))
	}
}

// TestEmptyDataDecides: a message with no bytes at all still gets a
// verdict at DATA (an empty message is malformed), never "undecided".
func TestEmptyDataDecides(t *testing.T) {
	c, err := Compile(`msg.malformed`, true)
	if err != nil {
		t.Fatal(err)
	}
	p := &Pipeline{Rules: []*Rule{{Name: "broken", When: c, Action: Action{Kind: ActionReject, Code: 550, Enhanced: "5.6.0"}, Stop: true}}}
	if err := p.Prepare(); err != nil {
		t.Fatal(err)
	}
	v := p.Begin(NewMessage(Envelope{}, nil)).Evaluate(context.Background(), PhaseData)
	if !v.Decided || v.Action != ActionReject {
		t.Fatalf("empty message: decided %v action %s", v.Decided, v.Action)
	}
}
