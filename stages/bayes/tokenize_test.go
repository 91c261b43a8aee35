package bayes

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/engine"
	"golang.org/x/text/encoding/charmap"
)

func tokenize(t *testing.T, raw []byte) []string {
	t.Helper()
	return Tokenize(engine.NewMessage(engine.Envelope{}, TrimFromLine(raw)))
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("../../engine/testdata/mime", name))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// checkTokens fails for every token of want missing from got and every
// token of unwanted present.
func checkTokens(t *testing.T, got []string, want, unwanted []string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("token %q missing from %q", w, got)
		}
	}
	for _, u := range unwanted {
		if slices.Contains(got, u) {
			t.Errorf("token %q should not be in %q", u, got)
		}
	}
}

func TestTokenizeMultipartAlternativeQP(t *testing.T) {
	got := tokenize(t, readFixture(t, "rfc-examples/006.eml"))
	checkTokens(t, got, []string{
		"subject:multipart", "subject:email", "subject:example",
		"from:domain:example.com", "from:no-name",
		"ct:multipart/alternative", "ct:text/plain", "ct:text/html", "charset:utf-8", "cte:quoted-printable",
		"fallback", "client", // the text/plain part
		"displays", "modern", // the visible text of the HTML part
		"header:content-type",
	}, []string{"h1", "<h1>", "p>"})
}

func TestTokenizeCharsetsAndBase64(t *testing.T) {
	// UTF-16LE in binary, UTF-16BE and UTF-16LE in base64, EUC-JP in base64.
	got := tokenize(t, readFixture(t, "dovecot-thirdparty/005.eml"))
	checkTokens(t, got, []string{"test", "message", "charset:utf-16le", "charset:euc-jp", "cte:base64"}, nil)
	jp := false
	for _, tok := range got {
		if strings.Contains(tok, "世界人権宣言") {
			jp = true
		}
	}
	if !jp {
		t.Errorf("no token from the EUC-JP part decoded to Japanese: %q", got)
	}
}

// htmlSpam is a base64 text/html part in windows-1251 with the markup tricks
// the tokenizer flags, and an RFC 2047 ISO-8859-1 subject.
func htmlSpam(t testing.TB) []byte {
	t.Helper()
	html := `<html><body><p>ПРИВЕТ друг! Купите сейчас.</p>
<div style="display: none">invisible padding words</div>
<font size="1" color="#ffffff">tiny white</font>
<img src="http://img.example/a.gif"><img src="http://img.example/b.gif">
<form action="http://collect.example/x"><input name="card"></form>
<a href="http://198.51.100.7/login">http://www.mybank.example/login</a>
<a href="http://www.shop.example.co.uk/remove?id=123">unsubscribe</a>
<a href="mailto:sales@offers.example">mail us</a>
<script>var x = "scriptword";</script>
Vi<!-- x -->agra</body></html>`
	enc, err := charmap.Windows1251.NewEncoder().String(html)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString([]byte(enc))
	var wrapped strings.Builder
	for len(b64) > 76 {
		wrapped.WriteString(b64[:76] + "\r\n")
		b64 = b64[76:]
	}
	wrapped.WriteString(b64 + "\r\n")
	return []byte("From: \"Shop\" <deals12345@offers.example>\r\n" +
		"Reply-To: other@elsewhere.example\r\n" +
		"To: you@example.net\r\n" +
		"Subject: =?ISO-8859-1?Q?Gr=F6=DFe_Angebote?= FREE!!!\r\n" +
		"X-Mailer: Microsoft Outlook Express 6.00.2600.0000\r\n" +
		"Received: from mail.sender.example.com (mail.sender.example.com [203.0.113.9])\r\n\tby mx.example.net (Postfix 2.1.5) with ESMTP id 1A2B; Mon, 1 Jan 2024 00:00:00 +0000\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/html; charset=windows-1251\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + wrapped.String())
}

func TestTokenizeBase64HTMLWindows1251(t *testing.T) {
	got := tokenize(t, htmlSpam(t))
	checkTokens(t, got, []string{
		"привет", "caps:привет", "друг", "купите", // decoded from windows-1251, lower-cased with care
		"subject:größe", "subject:angebote", "subject:free", "subject:!", // RFC 2047
		"from:domain:offers.example", "from:name:shop", "from:local:digits",
		"reply-to:domain:elsewhere.example", "reply-to:other-domain",
		"mailer:microsoft outlook express",
		"received:example.com", "received:example.net", "received:ip:203.0.0.0",
		"html:hidden", "html:tiny-text", "html:white-text", "html:form", "html:script",
		"html:link-mismatch", "html:comment-in-word", "html:images:2",
		"url:ip", "url:www.shop.example.co.uk", "url:example.co.uk", "url:path:remove",
		"email:offers.example",
		"charset:windows-1251", "cte:base64", "ct:text/html",
	}, []string{"scriptword", "var", "received:2.1", "received:1.5"})
}

func TestTokenizeQuotedPrintableSoftBreaks(t *testing.T) {
	raw := "From: a@b.example\nSubject: qp\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n" +
		"extraordi=\nnary caf=E9 na=EFve r=E9sum=E9 =3D equals\n"
	got := tokenize(t, []byte(raw))
	checkTokens(t, got, []string{"extraordinary", "café", "naïve", "résumé", "equals", "charset:iso-8859-1"},
		[]string{"extraordi", "nary", "caf=e9"})
}

func TestTokenizeWordShapes(t *testing.T) {
	raw := "Subject: x\n\nEarn $1,000,000 now, call 1-800-555-1212 or visit pneumonoultramicroscopicsilicovolcanoconiosis FREE offer.\n" +
		"Write to joe@Mail.Example.ORG or see http://www.Example.com/buy now.\n"
	got := tokenize(t, []byte(raw))
	checkTokens(t, got, []string{
		"earn", "num:$d,ddd,ddd", "num:d-ddd-ddd-dddd", "long:p:40", "free", "caps:free", "offer",
		"email:mail.example.org", "url:www.example.com", "url:example.com", "url:path:buy",
	}, []string{"now,", "offer.", "1-800-555-1212", "http"})
}

func TestTokenizeStripsMboxFromLine(t *testing.T) {
	raw := "From someone@example.org  Thu Aug 22 13:17:22 2002\nFrom: a@b.example\nSubject: hello there\n\nbody words\n"
	got := tokenize(t, []byte(raw))
	checkTokens(t, got, []string{"subject:hello", "body", "words"}, []string{"mime:malformed"})
}

func TestTokenizeCap(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("Subject: many\n\n")
	for i := range 20000 {
		fmt.Fprintf(&sb, "word%dx ", i)
	}
	o := DefaultOptions
	o.MaxTokens = 500
	got := o.Tokenize(engine.NewMessage(engine.Envelope{}, []byte(sb.String())))
	if len(got) != 500 {
		t.Fatalf("got %d tokens, want the cap of 500", len(got))
	}
	if got[0] != "subject:many" {
		t.Errorf("header tokens should come first, got %q", got[0])
	}
}

func TestTokenizeMalformed(t *testing.T) {
	files, _ := filepath.Glob("../../engine/testdata/mime/dovecot-malformed/*.eml")
	if len(files) < 17 {
		t.Fatalf("malformed fixtures missing: %v", files)
	}
	malformed := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got := tokenize(t, raw)
		if len(got) == 0 {
			t.Errorf("%s: no tokens at all", f)
		}
		checkDistinct(t, got)
		if slices.Contains(got, "mime:malformed") {
			malformed++
		}
	}
	if malformed == 0 {
		t.Error("no malformed fixture was flagged mime:malformed")
	}
	// Not MIME at all: a bare line with no header.
	got := tokenize(t, []byte("just some text without a header\x00 and a NUL"))
	checkTokens(t, got, []string{"mime:malformed"}, nil)
	checkDistinct(t, got)
}

// checkDistinct fails when a token repeats or holds a NUL byte.
func checkDistinct(t *testing.T, toks []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, tok := range toks {
		if seen[tok] {
			t.Errorf("token %q repeated", tok)
		}
		seen[tok] = true
		if strings.IndexByte(tok, 0) >= 0 || tok == "" {
			t.Errorf("bad token %q", tok)
		}
	}
}

// TestParseAddrAgreesWithNetip: the shortcut for host names gives the same
// answer as netip.ParseAddr on addresses, names and near misses.
func TestParseAddrAgreesWithNetip(t *testing.T) {
	for _, s := range []string{"192.0.2.1", "10.1.2.3", "mail.example.com", "1.2.3.4.example", "1.2.3", "01.2.3.4",
		"256.1.1.1", "::1", "2001:db8::1", "fe80::1%eth0", "::ffff:1.2.3.4", "1.2.3.4%x", "a:b", "%", "", ".", "1..2.3"} {
		want, werr := netip.ParseAddr(s)
		got, gerr := parseAddr(s)
		if got != want || (werr == nil) != (gerr == nil) {
			t.Errorf("parseAddr(%q) = %v, %v; netip says %v, %v", s, got, gerr, want, werr)
		}
	}
}
