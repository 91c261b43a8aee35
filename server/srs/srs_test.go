package srs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// postsrsd's own test vectors (github.com/roehling/postsrsd
// tests/unit/test_srs2.c and tests/blackbox/socketmap.py @ ad76f545,
// 2026-08-21): secret "tops3cr3t", clock 2020-01-01 00:01:00 UTC, SRS
// domain example.com. Matching them byte for byte is what makes our
// addresses interchangeable with postsrsd's.
var postsrsdClock = time.Unix(1577836860, 0)

func postsrsd(t *testing.T) *Rewriter {
	t.Helper()
	r, err := New("example.com", []string{"tops3cr3t"}, Options{Now: func() time.Time { return postsrsdClock }})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestForwardPostsrsdVectors(t *testing.T) {
	r := postsrsd(t)
	for _, tc := range []struct{ in, want string }{
		{"test@example.com", "test@example.com"}, // our own domain: unchanged
		{"test@otherdomain.com", "SRS0=vmyz=2W=otherdomain.com=test@example.com"},
		{"hash234@somedomain.com", "SRS0=-3_5=2W=somedomain.com=hash234@example.com"}, // base64url
		{"SRS0=opaque+string@otherdomain.com", "SRS1=chaI=otherdomain.com==opaque+string@example.com"},
		{"SRS1=X=thirddomain.com==opaque+string@otherdomain.com", "SRS1=JIBX=thirddomain.com==opaque+string@example.com"},
	} {
		got, err := r.Forward(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Forward(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := r.Forward("foo"); err == nil {
		t.Error("Forward of an address without a domain succeeded")
	}
}

func TestReversePostsrsdVectors(t *testing.T) {
	r := postsrsd(t)
	for _, tc := range []struct {
		in, want string
		err      error
	}{
		{"SRS0=vmyz=2W=otherdomain.com=test@example.com", "test@otherdomain.com", nil},
		{"SRS0=XjO9=2V=otherdomain.com=test@example.com", "test@otherdomain.com", nil}, // a day old
		{"SRS1=JIBX=thirddomain.com==opaque+string@example.com", "SRS0=opaque+string@thirddomain.com", nil},
		{"srs0=xjo9=2v=otherdomain.com=test@example.com", "test@otherdomain.com", nil},
		{"SRS0=XJO9=2V=OTHERDOMAIN.COM=TEST@EXAMPLE.COM", "TEST@OTHERDOMAIN.COM", nil},
		{"SRS0=-3_5=2W=somedomain.com=hash234@example.com", "hash234@somedomain.com", nil},
		{"SRS0=+3/5=2W=somedomain.com=hash234@example.com", "hash234@somedomain.com", nil},
		{"test@example.com", "", ErrNotSRS},
		{"SRS0=te87=T7=otherdomain.com=test@example.com", "", ErrExpired}, // six months old
		{"SRS0=VcIb=7N=otherdomain.com=test@example.com", "", ErrExpired}, // six months ahead
		{"SRS0=FAKE=2V=otherdomain.com=test@example.com", "", ErrHash},
		{"SRS0=FAKE=2V=otherdomain.com=test@foreign.example", "", ErrHash},
		{"SRS0=@example.com", "", ErrMalformed},
		{"SRS0=XjO9@example.com", "", ErrMalformed},
		{"SRS0=XjO9=2V@example.com", "", ErrMalformed},
		{"SRS0=XjO9=2V=otherdomain.com@example.com", "", ErrMalformed},
		{"SRS1=JIBX=thirddomain.com@example.com", "", ErrMalformed},
	} {
		got, err := r.Reverse(tc.in)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("Reverse(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestWindowAndRotation(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	old, _ := New("fwd.example", []string{"old-secret"}, Options{Now: clock})
	addr, err := old.Forward("alice@example.org")
	if err != nil {
		t.Fatal(err)
	}
	// The secret was rotated: the new one signs, the old one still verifies.
	r, _ := New("fwd.example", []string{"new-secret", "old-secret"}, Options{Now: clock, MaxAge: 10 * 24 * time.Hour})
	for _, tc := range []struct {
		after time.Duration
		err   error
	}{{0, nil}, {10 * 24 * time.Hour, nil}, {11 * 24 * time.Hour, ErrExpired}, {1024 * 24 * time.Hour, nil}} {
		now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Add(tc.after)
		got, err := r.Reverse(addr)
		if !errors.Is(err, tc.err) || (err == nil && got != "alice@example.org") {
			t.Errorf("%v later: Reverse(%s) = %q, %v; want %v", tc.after, addr, got, err, tc.err)
		}
	}
	now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	other, _ := New("fwd.example", []string{"someone-else"}, Options{Now: clock})
	if _, err := other.Reverse(addr); !errors.Is(err, ErrHash) {
		t.Errorf("another secret accepted %s: %v", addr, err)
	}
	if a2, _ := r.Forward("alice@example.org"); a2 == addr {
		t.Error("the new secret signs like the old one")
	}
}

func TestLoadSecrets(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", DefaultSecretFile)
	if _, err := LoadSecrets(p, false); err == nil {
		t.Fatal("a missing file without create loaded")
	}
	s1, err := LoadSecrets(p, true)
	if err != nil || len(s1) != 1 || len(s1[0]) < 32 {
		t.Fatalf("created %q, %v", s1, err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %v", fi.Mode())
	}
	s2, _ := LoadSecrets(p, true)
	if s2[0] != s1[0] {
		t.Error("the secret changed on the second load")
	}
	os.WriteFile(p, []byte("first\r\n\n  \nsecond\n"), 0o600)
	if s, _ := LoadSecrets(p, false); strings.Join(s, ",") != "first,second" {
		t.Errorf("lines: %q", s)
	}
	os.WriteFile(p, []byte("\n\n"), 0o600)
	if _, err := LoadSecrets(p, false); !errors.Is(err, ErrNoSecret) {
		t.Errorf("empty file: %v", err)
	}
}

// FuzzReverse: no input panics, and whatever Forward writes Reverse
// takes back.
func FuzzReverse(f *testing.F) {
	for _, s := range []string{"SRS0=vmyz=2W=otherdomain.com=test@example.com", "SRS1=JIBX=thirddomain.com==opaque+string@example.com",
		"SRS0=@x", "srs1==", "SRS0====", "a@b", "SRS0=+3/5=zz=a=b@c", "SRS1=a=b=c"} {
		f.Add(s)
	}
	r, _ := New("example.com", []string{"tops3cr3t"}, Options{Now: func() time.Time { return postsrsdClock }})
	f.Fuzz(func(t *testing.T, s string) {
		r.Reverse(s)
		if !strings.Contains(s, "@") || strings.HasSuffix(s, "@") || strings.HasPrefix(s, "@") {
			return
		}
		fwd, err := r.Forward(s)
		if err != nil || fwd == s {
			return
		}
		back, err := r.Reverse(fwd)
		if err != nil {
			t.Fatalf("Forward(%q) = %q, which does not reverse: %v", s, fwd, err)
		}
		if !IsSRS(s[:strings.LastIndexByte(s, '@')]) && back != s {
			t.Fatalf("Forward(%q) = %q reverses to %q", s, fwd, back)
		}
	})
}
