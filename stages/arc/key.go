package arc

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/sluicemail/sluice/stages/resolver"
)

// MinKeyBits is the smallest RSA key a signature may use (RFC 8301
// section 3.2: verifiers must not consider keys under 1024 bits valid).
const MinKeyBits = 1024

// errTemp marks a key lookup that failed temporarily: the chain result is
// temperror, never fail, since a retry may pass.
var errTemp = errors.New("temporary DNS failure")

// lookupKey fetches the public key at <s>._domainkey.<d> (RFC 6376
// section 3.6.2; ARC uses the DKIM key records, RFC 8617 section 4.1):
// an *rsa.PublicKey or an ed25519.PublicKey.
func lookupKey(ctx context.Context, r resolver.Resolver, d, s string) (crypto.PublicKey, error) {
	name := s + "._domainkey." + d
	if !validName(name) {
		return nil, fmt.Errorf("invalid key name %q", name)
	}
	txts, status, err := resolver.LookupTXT(ctx, r, name)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s: %w: %v", name, errTemp, err)
	case status != resolver.Success || len(txts) == 0:
		return nil, fmt.Errorf("%s: no key record", name)
	case len(txts) > 1:
		return nil, fmt.Errorf("%s: %d key records", name, len(txts))
	}
	return parseKey(txts[0])
}

// parseKey reads a DKIM key record: v=DKIM1 if present, k=rsa (the only
// algorithm RFC 8617 names) or ed25519 (RFC 8463, which some sealers
// use), a hash list that allows sha256, and p=.
func parseKey(txt string) (crypto.PublicKey, error) {
	t, err := parseTags(txt)
	if err != nil {
		return nil, fmt.Errorf("key record: %v", err)
	}
	if v, ok := t["v"]; ok && v != "DKIM1" {
		return nil, fmt.Errorf("key record: v=%q", v)
	}
	k, ok := t["k"]
	if ok && k != "rsa" && k != "ed25519" {
		return nil, fmt.Errorf("key record: unknown key type k=%s", k)
	}
	if h, ok := t["h"]; ok && !listHas(h, "sha256") {
		return nil, fmt.Errorf("key record: h=%s does not allow sha256", h)
	}
	p := stripWS(t["p"])
	if p == "" {
		return nil, fmt.Errorf("key record: revoked (empty p=)")
	}
	der, err := base64.StdEncoding.DecodeString(p)
	if err != nil {
		return nil, fmt.Errorf("key record: p= is not base64")
	}
	if k == "ed25519" {
		if len(der) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("key record: Ed25519 key of %d bytes", len(der))
		}
		return ed25519.PublicKey(der), nil
	}
	var pub *rsa.PublicKey
	if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		pub, _ = k.(*rsa.PublicKey)
	} else if k, err := x509.ParsePKCS1PublicKey(der); err == nil {
		pub = k
	}
	if pub == nil {
		return nil, fmt.Errorf("key record: p= is not an RSA public key")
	}
	if pub.N.BitLen() < MinKeyBits {
		return nil, fmt.Errorf("key record: RSA key of %d bits, under %d", pub.N.BitLen(), MinKeyBits)
	}
	return pub, nil
}

func listHas(list, want string) bool {
	for _, x := range strings.Split(list, ":") {
		if strings.TrimSpace(x) == want {
			return true
		}
	}
	return false
}

// validName reports whether name is a host-style domain name: labels of
// letters, digits, hyphens and underscores, so that a d= or s= holding
// anything else never reaches the resolver.
func validName(name string) bool {
	name = strings.TrimSuffix(name, ".")
	if name == "" || len(name) > 253 {
		return false
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
