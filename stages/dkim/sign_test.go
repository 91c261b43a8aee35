package dkim

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/stages/resolver"
)

const testMsg = "From: Alice <alice@example.org>\r\n" +
	"To: bob@example.net\r\n" +
	"Subject: lunch\r\n" +
	"Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n" +
	"Message-ID: <1@example.org>\r\n" +
	"List-Id: <club.example.org>\r\n" +
	"X-Unsigned: yes\r\n" +
	"\r\n" +
	"Shall we meet at noon?\r\n"

// testKeys are published test keys from testdata (dkimpy's 2048-bit RSA
// key and its Ed25519 seed).
func testKeys(t testing.TB) (rsaKey, edKey crypto.Signer) {
	t.Helper()
	var err error
	if rsaKey, err = LoadKey("testdata/dkimpy/2048_testkey.key"); err != nil {
		t.Fatal(err)
	}
	if edKey, err = LoadKey("testdata/dkimpy/ed25519test.key"); err != nil {
		t.Fatal(err)
	}
	return rsaKey, edKey
}

// zoneFor returns a zone publishing the keys at sel._domainkey.domain.
func zoneFor(t testing.TB, domain string, keys map[string]crypto.Signer) *resolver.Zone {
	t.Helper()
	var lines []string
	for sel, k := range keys {
		rec, err := TXTRecord(domain, sel, k.Public())
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, rec)
	}
	z, err := resolver.ParseZone(strings.Join(lines, "\n") + "\n")
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func signer(t testing.TB, domain string, keys map[string]crypto.Signer) *Signer {
	t.Helper()
	s := &Signer{keys: map[string][]signingKey{}}
	for sel, k := range keys {
		if err := s.Add(domain, sel, k); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestSignDualAndVerify(t *testing.T) {
	rsaKey, edKey := testKeys(t)
	keys := map[string]crypto.Signer{"r1": rsaKey, "e1": edKey}
	signed, err := signer(t, "example.org", keys).Sign([]byte(testMsg))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(signed, []byte(testMsg)) {
		t.Fatal("signing changed the message")
	}
	f := Verify(context.Background(), zoneFor(t, "example.org", keys), signed, 0)
	if f.Result != ResultPass || len(f.Results) != 2 || !f.Pass || len(f.PassDomains) != 1 || f.PassDomains[0] != "example.org" {
		t.Fatalf("facts %+v", f)
	}
	if f.Results[0].Algorithm != "rsa-sha256" || f.Results[1].Algorithm != "ed25519-sha256" {
		t.Errorf("algorithms %s, %s: want RSA first, then Ed25519", f.Results[0].Algorithm, f.Results[1].Algorithm)
	}
	for _, r := range f.Results {
		if r.Result != ResultPass {
			t.Errorf("%+v", r)
		}
	}
	sig := string(signed[:len(signed)-len(testMsg)])
	for _, want := range []string{"c=relaxed/relaxed", "a=rsa-sha256", "a=ed25519-sha256", "d=example.org"} {
		if !strings.Contains(sig, want) {
			t.Errorf("signature lacks %s:\n%s", want, sig)
		}
	}
	if strings.Contains(sig, "l=") {
		t.Errorf("signature has l=:\n%s", sig)
	}
}

func TestHeaderKeysOverSign(t *testing.T) {
	h := parseHeaderOf(testMsg)
	got := strings.Join(headerKeys(h), ":")
	want := "From:From:To:To:Subject:Subject:Date:Date:Message-ID:List-Id"
	if got != want {
		t.Errorf("h=%s\nwant %s", got, want)
	}
}

// TestOverSigningBreaksOnAddedField: a From, To, Subject or Date added
// after signing must break the signature (RFC 6376 section 8.15).
func TestOverSigningBreaksOnAddedField(t *testing.T) {
	rsaKey, _ := testKeys(t)
	keys := map[string]crypto.Signer{"r1": rsaKey}
	zone := zoneFor(t, "example.org", keys)
	signed, err := signer(t, "example.org", keys).Sign([]byte(testMsg))
	if err != nil {
		t.Fatal(err)
	}
	for _, add := range []string{"From: mallory@evil.example\r\n", "Subject: urgent\r\n", "To: x@y.example\r\n", "Date: Mon, 30 Nov 2026 10:00:00 +0000\r\n"} {
		tampered := bytes.Replace(signed, []byte("\r\n\r\n"), []byte("\r\n"+add+"\r\n"), 1)
		if f := Verify(context.Background(), zone, tampered, 0); f.Result != ResultFail {
			t.Errorf("added %q: result %s, want fail", strings.TrimSpace(add), f.Result)
		}
	}
	// An unsigned field may be added freely.
	ok := bytes.Replace(signed, []byte("\r\n\r\n"), []byte("\r\nX-Added: fine\r\n\r\n"), 1)
	if f := Verify(context.Background(), zone, ok, 0); f.Result != ResultPass {
		t.Errorf("added X-Added: result %s (%+v), want pass", f.Result, f.Results)
	}
}

func TestSignParentDomainAndNoKey(t *testing.T) {
	_, edKey := testKeys(t)
	s := signer(t, "example.org", map[string]crypto.Signer{"e1": edKey})
	sub := strings.Replace(testMsg, "alice@example.org", "alice@lists.example.org", 1)
	signed, err := s.Sign([]byte(sub))
	if err != nil || !bytes.Contains(signed, []byte("d=example.org")) {
		t.Fatalf("subdomain From: err %v\n%s", err, signed)
	}
	other := strings.Replace(testMsg, "alice@example.org", "alice@notexample.org", 1)
	out, err := s.Sign([]byte(other))
	if !errors.Is(err, ErrNoKey) || string(out) != other {
		t.Errorf("foreign From: err %v, changed %v", err, string(out) != other)
	}
	noFrom := strings.Replace(testMsg, "From: Alice <alice@example.org>\r\n", "", 1)
	out, err = s.Sign([]byte(noFrom))
	if !errors.Is(err, ErrNoFrom) || string(out) != noFrom {
		t.Errorf("no From: err %v", err)
	}
	nofrom, _ := os.ReadFile("testdata/dkimpy/test_nofrom.eml")
	if _, err := s.Sign(nofrom); !errors.Is(err, ErrNoFrom) {
		t.Errorf("dkimpy test_nofrom.eml: err %v, want ErrNoFrom", err)
	}
}

func TestSignBareLF(t *testing.T) {
	_, edKey := testKeys(t)
	keys := map[string]crypto.Signer{"e1": edKey}
	lf := strings.ReplaceAll(testMsg, "\r\n", "\n")
	signed, err := signer(t, "example.org", keys).Sign([]byte(lf))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(bytes.ReplaceAll(signed, []byte("\r\n"), nil), []byte("\n")) {
		t.Error("bare LF left in the signed message")
	}
	if f := Verify(context.Background(), zoneFor(t, "example.org", keys), signed, 0); f.Result != ResultPass {
		t.Errorf("%+v", f)
	}
}

// TestNewSignerLoadsEveryFormat: PKCS#1, PKCS#8 and the RFC 8463 seed.
func TestNewSignerLoadsEveryFormat(t *testing.T) {
	dir := "testdata"
	cfgs := []SignerConfig{
		{Domain: "example.com", Selector: "pkcs1", KeyFile: filepath.Join(dir, "dkimpy/2048_testkey.key")},
		{Domain: "example.com", Selector: "pkcs8", KeyFile: filepath.Join(dir, "dkimpy/2048_testkey_PKCS8.key")},
		{Domain: "example.com", Selector: "seed", KeyFile: filepath.Join(dir, "rfc8463-ed25519-private.b64")},
	}
	s, err := NewSigner(cfgs)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.keys["example.com"]); n != 3 {
		t.Fatalf("%d keys", n)
	}
	if _, err := NewSigner([]SignerConfig{{Domain: "example.com", Selector: "x", KeyFile: filepath.Join(dir, "keys.zone")}}); !errors.Is(err, ErrKeyFormat) {
		t.Errorf("zone file as key: %v", err)
	}
	if _, err := NewSigner([]SignerConfig{{Domain: "bad domain", Selector: "x", KeyFile: cfgs[0].KeyFile}}); err == nil {
		t.Error("invalid domain accepted")
	}
}

func TestParseKeyFormats(t *testing.T) {
	for _, tc := range []struct {
		file string
		typ  string
	}{
		{"dkimpy/1024_testkey.key", "rsa"},
		{"dkimpy/2048_testkey.key", "rsa"},
		{"dkimpy/2048_testkey_PKCS8.key", "rsa"},
		{"dkimpy/test.private", "rsa"},
		{"dkimpy/ed25519test.key", "ed25519"},
		{"rfc8463-ed25519-private.b64", "ed25519"},
	} {
		k, err := LoadKey(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Errorf("%s: %v", tc.file, err)
			continue
		}
		if got := keyAlgorithm(k.Public()); got != tc.typ {
			t.Errorf("%s: %s, want %s", tc.file, got, tc.typ)
		}
	}
	// RFC 8463 A.2: the seed's public key is 11qYAYKx...
	k, _ := LoadKey("testdata/rfc8463-ed25519-private.b64")
	if v, _ := RecordValue(k.Public()); v != "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=" {
		t.Errorf("RFC 8463 key record %q", v)
	}
	full := ed25519.NewKeyFromSeed(make([]byte, 32))
	if _, err := ParseKey([]byte(b64(full))); err != nil {
		t.Errorf("64-byte Ed25519 key: %v", err)
	}
	bad := append(ed25519.PrivateKey(nil), full...)
	bad[40] ^= 1
	for name, in := range map[string]string{
		"mismatched 64-byte": b64(bad), "short": b64(make([]byte, 16)), "junk": "not a key!",
		"pem without key": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
		"bad pkcs1":       "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
	} {
		if _, err := ParseKey([]byte(in)); !errors.Is(err, ErrKeyFormat) {
			t.Errorf("%s: err %v, want ErrKeyFormat", name, err)
		}
	}
}
