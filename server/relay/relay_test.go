package relay_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
	"github.com/sluicemail/sluice/server/relay"
	"github.com/sluicemail/sluice/server/relay/relaytest"
	"github.com/sluicemail/sluice/stages/resolver"
)

// zone is the DNS the tests deliver through: the MX of dest.test is on
// 127.0.0.1; backup.test prefers a dead host (127.0.0.2, where nothing
// listens) over the live one; bare.test has no MX, only an address; nomail.test
// publishes a null MX.
const zone = `
dest.test.        300 IN MX 10 mx.dest.test.
mx.dest.test.     300 IN A  127.0.0.1
backup.test.      300 IN MX 10 dead.backup.test.
backup.test.      300 IN MX 20 live.backup.test.
dead.backup.test. 300 IN A  127.0.0.2
live.backup.test. 300 IN A  127.0.0.1
bare.test.        300 IN A  127.0.0.1
nomail.test.      300 IN MX 0 .
nomail.test.      300 IN A  127.0.0.1
xn--bcher-kva.test. 300 IN MX 10 mx.dest.test.
`

func newClient(t *testing.T, port int, mod func(*relay.Options)) *relay.Client {
	t.Helper()
	z, err := resolver.ParseZone(zone)
	if err != nil {
		t.Fatal(err)
	}
	o := relay.Options{Resolver: z, Hostname: "out.sluice.test", Port: port}
	if mod != nil {
		mod(&o)
	}
	c, err := relay.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const msg = "From: a@sluice.test\r\nTo: b@dest.test\r\nSubject: hi\r\n\r\nhello\r\n"

func TestSendThroughMXWithSTARTTLS(t *testing.T) {
	srv := relaytest.Start(t, relaytest.Options{TLS: true})
	c := newClient(t, srv.Port, nil)
	errs := c.Send(context.Background(), "a@sluice.test", []string{"b@dest.test", "c@dest.test"}, []byte(msg))
	for i, err := range errs {
		if err != nil {
			t.Fatalf("recipient %d: %v", i, err)
		}
	}
	got := srv.Messages()
	if len(got) != 1 || !got[0].TLS || got[0].From != "a@sluice.test" || len(got[0].To) != 2 {
		t.Fatalf("server got %+v", got)
	}
	if string(got[0].Data) != msg {
		t.Fatalf("data changed: %q", got[0].Data)
	}
}

// TestSendToIDN: a U-label domain is looked up as its A-label.
func TestSendToIDN(t *testing.T) {
	srv := relaytest.Start(t, relaytest.Options{})
	c := newClient(t, srv.Port, nil)
	if err := c.Send(context.Background(), "a@sluice.test", []string{"b@bücher.test"}, []byte(msg))[0]; err != nil {
		t.Fatal(err)
	}
	if got := srv.Messages(); len(got) != 1 || got[0].To[0] != "b@xn--bcher-kva.test" {
		t.Fatalf("server got %+v", got)
	}
}

func TestSendPlainWhenNoSTARTTLS(t *testing.T) {
	srv := relaytest.Start(t, relaytest.Options{})
	c := newClient(t, srv.Port, nil)
	if err := c.Send(context.Background(), "a@sluice.test", []string{"b@bare.test"}, []byte(msg))[0]; err != nil {
		t.Fatal(err)
	}
	if got := srv.Messages(); len(got) != 1 || got[0].TLS {
		t.Fatalf("want one plain-text message, got %+v", got)
	}
}

// TestSTARTTLSFailureFallsBackToPlain: a certificate the client will not
// accept makes the handshake fail; opportunistic TLS then delivers in
// plain text on a new connection rather than not at all.
func TestSTARTTLSFailureFallsBackToPlain(t *testing.T) {
	srv := relaytest.Start(t, relaytest.Options{TLS: true})
	c := newClient(t, srv.Port, func(o *relay.Options) { o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12} })
	if err := c.Send(context.Background(), "a@sluice.test", []string{"b@dest.test"}, []byte(msg))[0]; err != nil {
		t.Fatal(err)
	}
	if got := srv.Messages(); len(got) != 1 || got[0].TLS {
		t.Fatalf("want one plain-text message, got %+v", got)
	}
}

func TestSendTriesNextMX(t *testing.T) {
	srv := relaytest.Start(t, relaytest.Options{})
	c := newClient(t, srv.Port, nil)
	if err := c.Send(context.Background(), "a@sluice.test", []string{"b@backup.test"}, []byte(msg))[0]; err != nil {
		t.Fatal(err)
	}
	if len(srv.Messages()) != 1 {
		t.Fatal("not delivered through the second MX")
	}
}

func TestSendFailures(t *testing.T) {
	srv := relaytest.Start(t, relaytest.Options{})
	srv.Rcpt = func(to string) error {
		switch {
		case strings.HasPrefix(to, "gone@"):
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		case strings.HasPrefix(to, "busy@"):
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
		}
		return nil
	}
	c := newClient(t, srv.Port, nil)
	closed := newClient(t, freePort(t), nil)
	tests := []struct {
		name      string
		c         *relay.Client
		to        string
		permanent bool
		status    string
	}{
		{"unknown user", c, "gone@dest.test", true, "5.1.1"},
		{"temporary reply", c, "busy@dest.test", false, "4.3.0"},
		{"null MX", c, "x@nomail.test", true, "5.1.10"},
		{"no such domain", c, "x@nowhere.test", true, "5.1.2"},
		{"connection refused", closed, "x@dest.test", false, "4.0.0"},
		{"UTF-8 local part, no SMTPUTF8", c, "jörg@dest.test", true, "5.6.7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Send(context.Background(), "a@sluice.test", []string{tc.to}, []byte(msg))[0]
			var re *relay.Error
			if !errors.As(err, &re) {
				t.Fatalf("got %v, want a *relay.Error", err)
			}
			if relay.IsPermanent(err) != tc.permanent || re.Status() != tc.status {
				t.Fatalf("got permanent=%v status=%s (%v), want %v %s", relay.IsPermanent(err), re.Status(), err, tc.permanent, tc.status)
			}
		})
	}
	if len(srv.Messages()) != 0 {
		t.Fatal("a refused message was accepted")
	}
}

func TestMixedRecipients(t *testing.T) {
	srv := relaytest.Start(t, relaytest.Options{})
	srv.Rcpt = func(to string) error {
		if strings.HasPrefix(to, "gone@") {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no"}
		}
		return nil
	}
	c := newClient(t, srv.Port, nil)
	errs := c.Send(context.Background(), "a@sluice.test", []string{"gone@dest.test", "ok@dest.test"}, []byte(msg))
	if !relay.IsPermanent(errs[0]) || errs[1] != nil {
		t.Fatalf("errs = %v", errs)
	}
	if got := srv.Messages(); len(got) != 1 || len(got[0].To) != 1 || got[0].To[0] != "ok@dest.test" {
		t.Fatalf("server got %+v", got)
	}
}

// TestBareLineEndsNormalised sends bare LF, bare CR and the smuggling
// sequences; the receiver must see CRLF line ends only, and one message.
func TestBareLineEndsNormalised(t *testing.T) {
	srv := relaytest.Start(t, relaytest.Options{})
	c := newClient(t, srv.Port, nil)
	raw := "Subject: x\n\nline1\rline2\n.\nafter-lf-dot\r.\rafter-cr-dot\n.\r\nend"
	if err := c.Send(context.Background(), "a@sluice.test", []string{"b@dest.test"}, []byte(raw))[0]; err != nil {
		t.Fatal(err)
	}
	got := srv.Messages()
	if len(got) != 1 {
		t.Fatalf("got %d messages", len(got))
	}
	d := got[0].Data
	for i, b := range d {
		if b == '\r' && (i+1 == len(d) || d[i+1] != '\n') || b == '\n' && (i == 0 || d[i-1] != '\r') {
			t.Fatalf("bare line end at %d in %q", i, d)
		}
	}
	want := "Subject: x\r\n\r\nline1\r\nline2\r\n.\r\nafter-lf-dot\r\n.\r\nafter-cr-dot\r\n.\r\nend\r\n"
	if string(d) != want {
		t.Fatalf("got %q\nwant %q", d, want)
	}
}

func TestSmarthostAuth(t *testing.T) {
	for _, mode := range []relay.TLSMode{relay.TLSStartTLS, relay.TLSImplicit} {
		t.Run(string(mode), func(t *testing.T) {
			srv := relaytest.Start(t, relaytest.Options{TLS: mode == relay.TLSStartTLS, Implicit: mode == relay.TLSImplicit})
			srv.Auth = func(user, pass string) error {
				if user != "me" || pass != "secret" {
					return errors.New("no")
				}
				return nil
			}
			c, err := relay.New(relay.Options{Smarthost: &relay.Smarthost{
				Host: "127.0.0.1", Port: srv.Port, TLS: mode, Username: "me", Password: "secret",
				TLSConfig: &tls.Config{InsecureSkipVerify: true},
			}})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Send(context.Background(), "a@sluice.test", []string{"x@anywhere.example"}, []byte(msg))[0]; err != nil {
				t.Fatal(err)
			}
			got := srv.Messages()
			if len(got) != 1 || got[0].User != "me" || !got[0].TLS {
				t.Fatalf("server got %+v", got)
			}
		})
	}
}

func TestSmarthostBadPasswordIsTemporary(t *testing.T) {
	srv := relaytest.Start(t, relaytest.Options{TLS: true})
	srv.Auth = func(user, pass string) error { return errors.New("no") }
	c, err := relay.New(relay.Options{Smarthost: &relay.Smarthost{
		Host: "127.0.0.1", Port: srv.Port, Username: "me", Password: "wrong",
		TLSConfig: &tls.Config{InsecureSkipVerify: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Send(context.Background(), "a@sluice.test", []string{"x@anywhere.example"}, []byte(msg))[0]
	if err == nil || relay.IsPermanent(err) {
		t.Fatalf("got %v, want a temporary failure", err)
	}
}

func TestNormalizeCRLF(t *testing.T) {
	for in, want := range map[string]string{
		"":              "",
		"a\r\nb":        "a\r\nb",
		"a\nb":          "a\r\nb",
		"a\rb":          "a\r\nb",
		"\r\r\n\n":      "\r\n\r\n\r\n",
		"x\n.\ny":       "x\r\n.\r\ny",
		"end\r":         "end\r\n",
		"\n.\r\n":       "\r\n.\r\n",
		"a\r\r\nb\n\rc": "a\r\n\r\nb\r\n\r\nc",
	} {
		if got := relay.NormalizeCRLF([]byte(in)); !bytes.Equal(got, []byte(want)) {
			t.Errorf("NormalizeCRLF(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzNormalizeCRLF(f *testing.F) {
	for _, s := range []string{"a\nb", "a\rb", "\r\n.\r\n", "\n.\n", "\r.\r", "x\r\r\n\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out := relay.NormalizeCRLF(b)
		for i, c := range out {
			if c == '\r' && (i+1 == len(out) || out[i+1] != '\n') || c == '\n' && (i == 0 || out[i-1] != '\r') {
				t.Fatalf("bare line end at %d in %q (from %q)", i, out, b)
			}
		}
		strip := func(b []byte) []byte {
			return bytes.NewBuffer(bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r"), nil), []byte("\n"), nil)).Bytes()
		}
		if !bytes.Equal(strip(out), strip(b)) {
			t.Fatalf("content other than line ends changed: %q -> %q", b, out)
		}
	})
}
