package relay_test

import (
	"context"
	"crypto/tls"
	"errors"
	"testing"

	"github.com/sluicemail/sluice/server/relay"
	"github.com/sluicemail/sluice/server/relay/relaytest"
)

// The messages of the SMTPUTF8 cases: a UTF-8 Subject (RFC 6532), and
// one that is plain ASCII.
const (
	utf8Msg  = "From: jörg@sluice.test\r\nTo: b@dest.test\r\nSubject: Grüße\r\n\r\nhello\r\n"
	asciiMsg = msg
)

// TestSMTPUTF8 covers RFC 6531 on the way out: a message that needs
// SMTPUTF8 goes with it to a server that offers it, and is refused for
// good (never downgraded) by one that does not; a message that does not
// need it goes anywhere, without the parameter.
func TestSMTPUTF8(t *testing.T) {
	tests := []struct {
		name       string
		serverUTF8 bool
		declared   bool // received with SMTPUTF8
		to, raw    string
		wantUTF8   bool   // the server saw MAIL FROM ... SMTPUTF8
		status     string // "" delivered, else the DSN status
	}{
		{"UTF-8 local part, server offers SMTPUTF8", true, true, "jörg@dest.test", utf8Msg, true, ""},
		{"U-label domain, server offers SMTPUTF8", true, true, "b@bücher.test", utf8Msg, true, ""},
		{"UTF-8 local part, server without SMTPUTF8", false, true, "jörg@dest.test", utf8Msg, false, "5.6.7"},
		{"UTF-8 header only, declared, server without", false, true, "b@dest.test", utf8Msg, false, "5.6.9"},
		{"UTF-8 header only, declared, server offers it", true, true, "b@dest.test", utf8Msg, true, ""},
		{"8-bit header not declared (legacy mail), server without", false, false, "b@dest.test", utf8Msg, false, ""},
		{"declared but all ASCII, server without", false, true, "b@dest.test", asciiMsg, false, ""},
		{"U-label domain, ASCII local part, server without", false, false, "b@bücher.test", asciiMsg, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := relaytest.Start(t, relaytest.Options{SMTPUTF8: tc.serverUTF8})
			c := newClient(t, srv.Port, nil)
			err := c.SendWith(context.Background(), "a@sluice.test", []string{tc.to}, []byte(tc.raw), relay.Params{UTF8: tc.declared})[0]
			got := srv.Messages()
			if tc.status != "" {
				var re *relay.Error
				if !errors.As(err, &re) || !relay.IsPermanent(err) || re.Status() != tc.status {
					t.Fatalf("got %v, want a permanent failure %s", err, tc.status)
				}
				if len(got) != 0 {
					t.Fatalf("the server accepted %d messages", len(got))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].UTF8 != tc.wantUTF8 || string(got[0].Data) != tc.raw {
				t.Fatalf("server got %+v, want SMTPUTF8=%v", got, tc.wantUTF8)
			}
		})
	}
}

// TestRequireTLS covers RFC 8689 on the way out: a REQUIRETLS message
// goes only over TLS with a certificate that verifies for the MX name, to
// a server that offers REQUIRETLS, and is otherwise returned with 5.7.30;
// without REQUIRETLS the same servers take it opportunistically.
func TestRequireTLS(t *testing.T) {
	tests := []struct {
		name      string
		server    relaytest.Options
		trust     bool // the client trusts the server's certificate
		require   bool
		status    string // "" delivered
		permanent bool
	}{
		{"verified TLS, REQUIRETLS offered", relaytest.Options{TLS: true, RequireTLS: true}, true, true, "", false},
		{"certificate not trusted", relaytest.Options{TLS: true, RequireTLS: true}, false, true, "5.7.30", true},
		{"REQUIRETLS not offered", relaytest.Options{TLS: true}, true, true, "5.7.30", true},
		{"no STARTTLS", relaytest.Options{RequireTLS: true}, true, true, "5.7.30", true},
		{"untrusted certificate, no REQUIRETLS asked", relaytest.Options{TLS: true}, false, false, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.server.Names = []string{"mx.dest.test"}
			srv := relaytest.Start(t, tc.server)
			c := newClient(t, srv.Port, func(o *relay.Options) {
				if tc.trust {
					o.TLSConfig = &tls.Config{RootCAs: srv.CertPool()}
				}
			})
			err := c.SendWith(context.Background(), "a@sluice.test", []string{"b@dest.test"}, []byte(msg), relay.Params{RequireTLS: tc.require})[0]
			got := srv.Messages()
			if tc.status == "" {
				if err != nil || len(got) != 1 || got[0].RequireTLS != tc.require {
					t.Fatalf("err %v, server got %+v", err, got)
				}
				if tc.require && !got[0].TLS {
					t.Fatal("a REQUIRETLS message went in plain text")
				}
				return
			}
			t.Log(err)
			var re *relay.Error
			if !errors.As(err, &re) || relay.IsPermanent(err) != tc.permanent || re.Status() != tc.status {
				t.Fatalf("got %v, want status %s permanent=%v", err, tc.status, tc.permanent)
			}
			if len(got) != 0 {
				t.Fatalf("the server accepted %d messages", len(got))
			}
		})
	}
}

// A host that cannot be reached is no reason to return a REQUIRETLS
// message: it waits, as any other would.
func TestRequireTLSUnreachableIsTemporary(t *testing.T) {
	c := newClient(t, freePort(t), nil)
	err := c.SendWith(context.Background(), "a@sluice.test", []string{"b@dest.test"}, []byte(msg), relay.Params{RequireTLS: true})[0]
	if err == nil || relay.IsPermanent(err) {
		t.Fatalf("got %v, want a temporary failure", err)
	}
}

// A smarthost reached in plain text can never carry a REQUIRETLS message.
func TestRequireTLSPlainSmarthost(t *testing.T) {
	srv := relaytest.Start(t, relaytest.Options{})
	c, err := relay.New(relay.Options{Smarthost: &relay.Smarthost{Host: "127.0.0.1", Port: srv.Port, TLS: relay.TLSNone}})
	if err != nil {
		t.Fatal(err)
	}
	err = c.SendWith(context.Background(), "a@sluice.test", []string{"x@anywhere.example"}, []byte(msg), relay.Params{RequireTLS: true})[0]
	var re *relay.Error
	if !errors.As(err, &re) || !re.Permanent || re.Status() != "5.7.30" {
		t.Fatalf("got %v, want 5.7.30", err)
	}
	if len(srv.Messages()) != 0 {
		t.Fatal("sent in plain text")
	}
}
