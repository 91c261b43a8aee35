package authres

import (
	"bytes"
	"strings"
	"testing"
)

const body = "\r\nAuthentication-Results: mx.example.net; spf=pass\r\n(in the body: kept)\r\n"

func TestStrip(t *testing.T) {
	const id = "mx.example.net"
	cases := []struct {
		name  string
		field string
		strip bool
	}{
		{"exact", "Authentication-Results: mx.example.net; spf=pass smtp.mailfrom=a@b.example\r\n", true},
		{"case", "AUTHENTICATION-RESULTS: MX.Example.NET; dkim=pass\r\n", true},
		{"no space", "Authentication-Results:mx.example.net;none\r\n", true},
		{"comment first", "Authentication-Results: (forged (nested \\) paren)) mx.example.net; dmarc=pass\r\n", true},
		{"quoted", "Authentication-Results: \"mx.example.net\"; spf=pass\r\n", true},
		{"quoted escape", "Authentication-Results: \"mx.ex\\ample.net\"; spf=pass\r\n", true},
		{"folded", "Authentication-Results:\r\n\tmx.example.net;\r\n spf=pass\r\n", true},
		{"version", "Authentication-Results: mx.example.net 1; none\r\n", true},
		{"comment after", "Authentication-Results: mx.example.net(comment); none\r\n", true},
		{"trailing dot", "Authentication-Results: mx.example.net.; spf=pass\r\n", true},
		{"space before colon", "Authentication-Results : mx.example.net; spf=pass\r\n", true},
		{"other id", "Authentication-Results: mx.example.com; spf=pass\r\n", false},
		{"longer id", "Authentication-Results: mx.example.net.evil.example; spf=pass\r\n", false},
		{"prefix id", "Authentication-Results: mx.example.netx; spf=pass\r\n", false},
		{"sub id", "Authentication-Results: a.mx.example.net; spf=pass\r\n", false},
		{"other field", "X-Authentication-Results: mx.example.net; spf=pass\r\n", false},
		{"arc", "ARC-Authentication-Results: i=1; mx.example.net; spf=pass\r\n", false},
		{"empty", "Authentication-Results:\r\n", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := "Received: from x\r\n\tby y\r\n"
			after := "From: a@b.example\r\nSubject: s\r\n"
			in := before + tc.field + after + body
			want := in
			if tc.strip {
				want = before + after + body
			}
			if got := string(Strip([]byte(in), id)); got != want {
				t.Errorf("got\n%q\nwant\n%q", got, want)
			}
			lf := strings.ReplaceAll(in, "\r\n", "\n")
			wantLF := strings.ReplaceAll(want, "\r\n", "\n")
			if got := string(Strip([]byte(lf), id)); got != wantLF {
				t.Errorf("LF: got\n%q\nwant\n%q", got, wantLF)
			}
		})
	}
}

func TestStripSeveralAndUnchanged(t *testing.T) {
	in := []byte("Authentication-Results: mx.example.net; spf=fail\r\n" +
		"Authentication-Results: other.example; spf=pass\r\n" +
		"Received: x\r\n" +
		"authentication-results: (x) MX.EXAMPLE.NET; dkim=pass\r\n" + body)
	want := "Authentication-Results: other.example; spf=pass\r\nReceived: x\r\n" + body
	if got := string(Strip(in, "mx.example.net")); got != want {
		t.Errorf("got %q", got)
	}
	plain := []byte("From: a@b.example\r\n" + body)
	if got := Strip(plain, "mx.example.net"); &got[0] != &plain[0] {
		t.Error("unchanged message was copied")
	}
	// A header with no body and no final empty line.
	if got := string(Strip([]byte("Subject: x\r\nAuthentication-Results: mx.example.net; none"), "mx.example.net")); got != "Subject: x\r\n" {
		t.Errorf("no body: %q", got)
	}
}

// TestStripThenAdd: what delivery does; only our field remains with our id.
func TestStripThenAdd(t *testing.T) {
	in := []byte("Authentication-Results: mx.example.net; dmarc=pass header.from=bank.example\r\nFrom: x@bank.example\r\n\r\nhi\r\n")
	out := append([]byte(Field("mx.example.net", facts())), Strip(in, "mx.example.net")...)
	if n := bytes.Count(bytes.ToLower(out), []byte("authentication-results: mx.example.net")); n != 1 {
		t.Errorf("%d fields with our id:\n%s", n, out)
	}
	if !bytes.HasSuffix(out, []byte("From: x@bank.example\r\n\r\nhi\r\n")) {
		t.Errorf("message damaged:\n%s", out)
	}
}
