package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/stages/dkim"
	"github.com/sluicemail/sluice/stages/resolver"
)

// TestDKIMKeygenRoundTrip: keygen writes a key and prints a record; a
// message signed with the key verifies through a zone holding exactly the
// printed record.
func TestDKIMKeygenRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, typ := range []string{"rsa", "ed25519"} {
		out := filepath.Join(dir, typ+".key")
		var stdout, stderr bytes.Buffer
		code := runDKIM([]string{"keygen", "--domain", "example.org", "--selector", "s-" + typ, "--type", typ, "--out", out}, &stdout, &stderr)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", typ, code, stderr.String())
		}
		record := stdout.String()
		if !strings.HasPrefix(record, "s-"+typ+"._domainkey.example.org. IN TXT \"v=DKIM1; k="+typ+"; p=") {
			t.Errorf("%s: record %q", typ, record)
		}
		for _, s := range strings.Split(record, `"`)[1:] {
			if len(s) > 255 {
				t.Errorf("%s: character-string of %d bytes", typ, len(s))
			}
		}
		st, err := os.Stat(out)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: key file %v %v", typ, st, err)
		}
		zone, err := resolver.ParseZone(record)
		if err != nil {
			t.Fatalf("%s: printed record does not parse: %v", typ, err)
		}
		signer, err := dkim.NewSigner([]dkim.SignerConfig{{Domain: "example.org", Selector: "s-" + typ, KeyFile: out}})
		if err != nil {
			t.Fatal(err)
		}
		msg := "From: a@example.org\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nbody\r\n"
		signed, err := signer.Sign([]byte(msg))
		if err != nil {
			t.Fatal(err)
		}
		f := dkim.Verify(context.Background(), zone, signed, 0)
		if f.Result != "pass" || f.Results[0].Selector != "s-"+typ {
			t.Errorf("%s: %+v", typ, f)
		}
		// A second keygen to the same file is refused and leaves the key.
		before, _ := os.ReadFile(out)
		stderr.Reset()
		if code := runDKIM([]string{"keygen", "--domain", "example.org", "--selector", "x", "--out", out}, &stdout, &stderr); code == 0 || !strings.Contains(stderr.String(), "refusing to overwrite") {
			t.Errorf("%s: overwrite: exit %d, %s", typ, code, stderr.String())
		}
		if after, _ := os.ReadFile(out); !bytes.Equal(before, after) {
			t.Errorf("%s: key file changed", typ)
		}
	}
}

func TestDKIMKeygenUsage(t *testing.T) {
	var out, errb bytes.Buffer
	for _, args := range [][]string{nil, {"keygen"}, {"keygen", "--domain", "x.org"}, {"keygen", "--domain", "x.org", "--selector", "s", "--type", "dsa", "--out", filepath.Join(t.TempDir(), "k")}, {"frobnicate"}} {
		if code := runDKIM(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
