package dkim

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/stages/resolver"
)

// FuzzParseKey: key files of any content give a key or an ErrKeyFormat
// error, never a panic; a key that parses can sign.
func FuzzParseKey(f *testing.F) {
	for _, name := range []string{"dkimpy/test.private", "dkimpy/2048_testkey_PKCS8.key", "dkimpy/ed25519test.key", "rfc8463-ed25519-private.b64"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte("  \n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParseKey(data)
		if err != nil {
			return
		}
		if _, err := RecordValue(k.Public()); err != nil {
			t.Fatalf("parsed key has no record: %v", err)
		}
	})
}

// FuzzParseSignature: the stage's own DKIM-Signature tag reading never
// panics, and a signature it accepts names a valid domain.
func FuzzParseSignature(f *testing.F) {
	for _, s := range []string{
		"v=1; a=rsa-sha256; d=example.com; s=brisbane; h=From; bh=x; b=y",
		"v=1; d=legitimate.com(.attacker.com; s=test",
		"d = Example.COM ;s=a.b ; l=10;",
		"junk; d=x; d=y",
		";;;=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		si := parseSignature(v)
		if si.Err == nil && !validName(si.Domain) {
			t.Fatalf("accepted d=%q", si.Domain)
		}
	})
}

// FuzzVerify: any message, verified against keys.zone, yields one result
// per signature with a known word, and never panics.
func FuzzVerify(f *testing.F) {
	for _, name := range []string{"rfc8463-a3-signed.eml", "dkimpy/test2.eml", "dkimpy/test-baddomain.eml", "realworld/002-example-com-rsapublickey.eml"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("DKIM-Signature: v=1\n\n"))
	zone, err := resolver.LoadZoneFile("testdata/keys.zone")
	if err != nil {
		f.Fatal(err)
	}
	words := "pass fail neutral temperror permerror"
	f.Fuzz(func(t *testing.T, raw []byte) {
		res := Verify(context.Background(), zone, raw, 3)
		for _, r := range res.Results {
			if !strings.Contains(words, r.Result) || r.Result == "" {
				t.Fatalf("result %q", r.Result)
			}
		}
		if res.Pass != (res.Result == ResultPass) {
			t.Fatalf("pass %v with result %s", res.Pass, res.Result)
		}
	})
}
