package smtp

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/server/auth"
)

// FuzzReadMessage: whatever DATA holds, what is accepted has CRLF line
// ends only, no NUL, and the body text unchanged apart from line ends.
func FuzzReadMessage(f *testing.F) {
	for _, s := range []string{"Subject: a\r\n\r\nb\r\n", "a\nb\n", "a\rb", "x\x00y", "\n\n\n", "Subject: x\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := readMessage(bytes.NewReader(data), 1<<10)
		if err != nil {
			return
		}
		if bytes.IndexByte(out, 0) >= 0 {
			t.Fatal("NUL accepted")
		}
		if bytes.Count(out, []byte("\n")) != bytes.Count(out, []byte("\r\n")) || bytes.Count(out, []byte("\r")) != bytes.Count(out, []byte("\r\n")) {
			t.Fatalf("bare CR or LF in %q", out)
		}
		if !bytes.Equal(bytes.ReplaceAll(out, []byte("\r\n"), []byte("\n")), bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))) {
			t.Fatalf("content changed: %q -> %q", data, out)
		}
	})
}

// FuzzTagSubject: tagging keeps the body and yields one Subject with the tag.
func FuzzTagSubject(f *testing.F) {
	f.Add("Subject: hello\r\nFrom: a\r\n\r\nbody\r\n")
	f.Add("From: a\r\n\r\nbody\r\n")
	f.Add("Subject:\r\n folded\r\n\r\n")
	f.Fuzz(func(t *testing.T, msg string) {
		out := string(tagSubject([]byte(msg), "[TAG]"))
		if !strings.Contains(out, "[TAG]") {
			t.Fatalf("no tag in %q", out)
		}
		_, body, ok := strings.Cut(msg, "\r\n\r\n")
		if ok && !strings.HasSuffix(out, body) {
			t.Fatalf("body changed: %q -> %q", msg, out)
		}
	})
}

// FuzzResolveRcpt: whatever the address, an unauthenticated client never
// gets a recipient that is not a local mailbox of a local domain (no open
// relay by any address trick).
func FuzzResolveRcpt(f *testing.F) {
	dir := f.TempDir()
	accounts, err := auth.Open(dir)
	if err != nil {
		f.Fatal(err)
	}
	accounts.AddUser("alice@example.net", "password1")
	accounts.SetAlias("@example.net", []string{"alice@example.net"})
	srv, err := New(Options{Hostname: "mx.example.net", Domains: []string{"example.net"}, Queue: &spyQueue{}, Accounts: accounts})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"alice@example.net", "a%b@example.net", "b!a@example.net", "a@b@example.net",
		"x@EXAMPLE.NET.", "x@[127.0.0.1]", "x@example.org", "postmaster@example.net", "x@example.net@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		rcpts, err := srv.resolveRcpt(addr, false, true)
		if err != nil {
			return
		}
		for _, r := range rcpts {
			if !r.Local || r.User != "alice@example.net" {
				t.Fatalf("%q resolved to %+v", addr, r)
			}
		}
		local, _, _ := splitAddress(addr)
		if strings.ContainsAny(local, "@%!") {
			t.Fatalf("routing characters accepted in %q", addr)
		}
	})
}
