// Package srs is the Sender Rewriting Scheme that forwarders use so that
// SPF (RFC 7208) still passes at the next hop: a forwarded message's
// envelope sender alice@example.org becomes
// SRS0=HHHH=TT=example.org=alice@our.domain, and a bounce to that address
// is turned back into one to alice@example.org. The format, the hash and
// the time stamp are those of libsrs2 as postsrsd uses it (Shevek's
// "Sender Rewriting Scheme" paper, 2004), so addresses written by sluice
// and by postsrsd with the same secret are interchangeable: HMAC-SHA1 over
// the lower-cased stamp, domain and local part, keyed by the secret, the
// first four characters of its base64url; the stamp is the day number
// modulo 1024 in two base32 characters; reversal accepts either base64
// alphabet in any case and a stamp at most MaxAge days old.
//
// An address that already is SRS0 at another forwarder becomes SRS1
// (the "guarded" scheme), so that the bounce goes back through that
// forwarder instead of growing the address at each hop.
package srs

import (
	"crypto/hmac"
	"crypto/sha1"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DefaultMaxAge is how long an SRS address stays valid for bounces:
// postsrsd's default, three weeks.
const DefaultMaxAge = 21 * 24 * time.Hour

// The errors of Reverse. ErrNotSRS means the address is an ordinary one;
// the others mean an SRS address that must be refused.
var (
	ErrNotSRS    = errors.New("srs: not an SRS address")
	ErrMalformed = errors.New("srs: malformed SRS address")
	ErrHash      = errors.New("srs: invalid hash (forged SRS address)")
	ErrExpired   = errors.New("srs: time stamp out of date")
	ErrNoSecret  = errors.New("srs: no secret")
)

const (
	hashLen   = 4
	day       = 24 * time.Hour
	stampBits = 5
	slots     = 1 << (2 * stampBits) // 1024 days: the stamp wraps around
	stampABC  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	hashABC   = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
)

// Rewriter rewrites and reverses addresses for one SRS domain. It is safe
// for concurrent use.
type Rewriter struct {
	domain  string
	secrets [][]byte // the first signs; all verify (key rotation)
	maxAge  time.Duration
	now     func() time.Time
}

// Options adjust a Rewriter.
type Options struct {
	MaxAge time.Duration    // default DefaultMaxAge
	Now    func() time.Time // default time.Now
}

// New returns a Rewriter whose addresses are at domain, signed with the
// first secret and verified with any of them.
func New(domain string, secrets []string, o Options) (*Rewriter, error) {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	if domain == "" || strings.ContainsAny(domain, "@ \t") {
		return nil, fmt.Errorf("srs: invalid domain %q", domain)
	}
	r := &Rewriter{domain: domain, maxAge: o.MaxAge, now: o.Now}
	for _, s := range secrets {
		if s != "" {
			r.secrets = append(r.secrets, []byte(s))
		}
	}
	if len(r.secrets) == 0 {
		return nil, ErrNoSecret
	}
	if r.maxAge <= 0 {
		r.maxAge = DefaultMaxAge
	}
	if r.now == nil {
		r.now = time.Now
	}
	return r, nil
}

// Domain returns the domain of the addresses r writes.
func (r *Rewriter) Domain() string { return r.domain }

// IsSRS reports whether local, the local part of an address, is written
// in the SRS syntax (SRS0 or SRS1 and a separator, any case).
func IsSRS(local string) bool {
	if len(local) < 5 {
		return false
	}
	tag := strings.ToUpper(local[:4])
	return (tag == "SRS0" || tag == "SRS1") && strings.ContainsRune("=-+", rune(local[4]))
}

// Forward returns the address a message from sender is forwarded with.
// A sender already at the SRS domain is returned unchanged; the null
// sender has no address to rewrite and is an error.
func (r *Rewriter) Forward(sender string) (string, error) {
	at := strings.LastIndexByte(sender, '@')
	if at <= 0 || at == len(sender)-1 {
		return "", fmt.Errorf("srs: sender %q has no domain", sender)
	}
	local, host := sender[:at], sender[at+1:]
	if strings.ContainsAny(host, "=@ \t") {
		// "=" separates the fields: a domain holding one could not be
		// taken apart again (and is no domain name).
		return "", fmt.Errorf("srs: sender %q has an invalid domain", sender)
	}
	if strings.EqualFold(strings.TrimSuffix(host, "."), r.domain) {
		return sender, nil
	}
	if len(local) > 4 && strings.EqualFold(local[:4], "SRS1") && strings.ContainsRune("=-+", rune(local[4])) {
		// SRS1=hash=host==opaque@other: keep the first forwarder's host
		// and opaque part, sign them anew at our domain.
		rest := local[5:]
		parts := strings.SplitN(rest, "=", 3)
		if len(parts) < 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
			return "", fmt.Errorf("%w: %s", ErrMalformed, sender)
		}
		return r.srs1(parts[1], parts[2]), nil
	}
	if len(local) > 4 && strings.EqualFold(local[:4], "SRS0") && strings.ContainsRune("=-+", rune(local[4])) {
		// SRS0 of another forwarder: SRS1 pointing back at it.
		return r.srs1(host, local[4:]), nil
	}
	stamp := r.stamp(r.now())
	return fmt.Sprintf("SRS0=%s=%s=%s=%s@%s", r.hash(0, stamp, host, local), stamp, host, local, r.domain), nil
}

// srs1 writes SRS1=hash=host=opaque@domain, where opaque keeps its own
// leading separator (so the address shows "==").
func (r *Rewriter) srs1(host, opaque string) string {
	return fmt.Sprintf("SRS1=%s=%s=%s@%s", r.hash(0, host, opaque), host, opaque, r.domain)
}

// Reverse returns the address an SRS address stands for: the original
// sender for SRS0, the previous forwarder's SRS0 address for SRS1. The
// domain of addr is not checked (the caller routed it here). ErrNotSRS
// means an ordinary address; any other error means a forged, expired or
// broken SRS address that must be refused.
func (r *Rewriter) Reverse(addr string) (string, error) {
	local := addr
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		local = addr[:at]
	}
	if !IsSRS(local) {
		return "", ErrNotSRS
	}
	if strings.EqualFold(local[:4], "SRS1") {
		return r.reverse1(local[5:])
	}
	return r.reverse0(local[5:])
}

// reverse0 checks hash=stamp=host=user.
func (r *Rewriter) reverse0(s string) (string, error) {
	parts := strings.SplitN(s, "=", 4)
	for len(parts) < 4 {
		parts = append(parts, "")
	}
	hash, stamp, host, user := parts[0], parts[1], parts[2], parts[3]
	switch {
	case hash == "":
		return "", fmt.Errorf("%w: no hash", ErrMalformed)
	case stamp == "":
		return "", fmt.Errorf("%w: no time stamp", ErrMalformed)
	case host == "":
		return "", fmt.Errorf("%w: no host", ErrMalformed)
	case user == "":
		return "", fmt.Errorf("%w: no user", ErrMalformed)
	}
	if err := r.checkStamp(stamp); err != nil {
		return "", err
	}
	if !r.checkHash(hash, stamp, host, user) {
		return "", ErrHash
	}
	return user + "@" + host, nil
}

// reverse1 checks hash=host=opaque and gives SRS0opaque@host.
func (r *Rewriter) reverse1(s string) (string, error) {
	parts := strings.SplitN(s, "=", 3)
	for len(parts) < 3 {
		parts = append(parts, "")
	}
	hash, host, opaque := parts[0], parts[1], parts[2]
	switch {
	case hash == "":
		return "", fmt.Errorf("%w: no hash", ErrMalformed)
	case host == "":
		return "", fmt.Errorf("%w: no host", ErrMalformed)
	case opaque == "":
		return "", fmt.Errorf("%w: no user", ErrMalformed)
	}
	if !r.checkHash(hash, host, opaque) {
		return "", ErrHash
	}
	return "SRS0" + opaque + "@" + host, nil
}

// stamp is the day number modulo 1024 in two base32 characters.
func (r *Rewriter) stamp(t time.Time) string {
	d := t.Unix() / int64(day/time.Second)
	return string([]byte{stampABC[(d>>stampBits)&31], stampABC[d&31]})
}

// checkStamp accepts a stamp from at most maxAge days ago. The stamp
// wraps every 1024 days, so "ago" is counted modulo that.
func (r *Rewriter) checkStamp(s string) error {
	if len(s) != 2 {
		return fmt.Errorf("%w: stamp %q", ErrExpired, s)
	}
	then := 0
	for i := 0; i < 2; i++ {
		n := strings.IndexByte(stampABC, upper(s[i]))
		if n < 0 {
			return fmt.Errorf("%w: bad stamp character %q", ErrMalformed, s[i])
		}
		then = then<<stampBits | n
	}
	now := int(r.now().Unix()/int64(day/time.Second)) % slots
	for now < then {
		now += slots
	}
	if now-then > int(r.maxAge/day) {
		return ErrExpired
	}
	return nil
}

// hash is the first hashLen characters of the base64url HMAC-SHA1 of the
// lower-cased fields, keyed by secret i.
func (r *Rewriter) hash(i int, fields ...string) string {
	m := hmac.New(sha1.New, r.secrets[i])
	for _, f := range fields {
		m.Write([]byte(strings.ToLower(f)))
	}
	sum := m.Sum(nil)
	out := make([]byte, hashLen)
	for j := range out {
		// The j-th 6-bit group of the digest, as base64 numbers them.
		bit := j * 6
		v := int(sum[bit/8])<<8 | int(sum[bit/8+1])
		out[j] = hashABC[(v>>(10-bit%8))&63]
	}
	return string(out)
}

// checkHash compares in constant time under libsrs2's equivalence: case
// is ignored and "+" "/" equal "-" "_", since MTAs lower-case local parts
// and older writers used the standard base64 alphabet.
func (r *Rewriter) checkHash(got string, fields ...string) bool {
	if len(got) < hashLen {
		return false
	}
	got = got[:hashLen]
	for i := range r.secrets {
		if hmac.Equal([]byte(fold(got)), []byte(fold(r.hash(i, fields...)))) {
			return true
		}
	}
	return false
}

func fold(s string) string {
	return strings.Map(func(c rune) rune {
		switch {
		case c == '+':
			return '-'
		case c == '/':
			return '_'
		case c >= 'A' && c <= 'Z':
			return c + 'a' - 'A'
		}
		return c
	}, s)
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}
