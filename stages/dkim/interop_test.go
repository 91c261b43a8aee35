package dkim

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/stages/resolver"
)

// Interoperability with dkimpy (python3-dkim, python3-nacl for Ed25519),
// an independent implementation: what sluice signs dkimpy verifies, and
// what dkimpy signs sluice verifies.

const python = "/usr/bin/python3" // Debian's, where apt installs python3-dkim

// dkimpyVerify verifies every signature of the message on stdin, answering
// key queries from the JSON map in argv[1], and prints one line per
// signature: "pass" or "fail".
const dkimpyVerify = `
import sys, json, dkim
keys = json.loads(sys.argv[1])
def dnsfunc(name, timeout=5):
    n = name.decode() if isinstance(name, bytes) else name
    v = keys.get(n.rstrip('.'))
    return v.encode() if v is not None else None
msg = sys.stdin.buffer.read()
d = dkim.DKIM(msg)
n = sum(1 for k, v in d.headers if k.lower() == b'dkim-signature')
for i in range(n):
    print('pass' if d.verify(idx=i, dnsfunc=dnsfunc) else 'fail')
`

// dkimpySign signs stdin: argv = selector domain keyfile algorithm.
const dkimpySign = `
import sys, dkim
sel, dom, keyfile, alg = sys.argv[1:5]
key = open(keyfile, 'rb').read()
msg = sys.stdin.buffer.read()
sig = dkim.sign(msg, sel.encode(), dom.encode(), key,
    canonicalize=(b'relaxed', b'relaxed'), signature_algorithm=alg.encode(),
    include_headers=[b'from', b'to', b'subject', b'date', b'message-id'])
sys.stdout.buffer.write(sig + msg)
`

// needDkimpy skips outside CI and fails in CI when dkimpy is missing.
func needDkimpy(t *testing.T) {
	t.Helper()
	out, err := exec.Command(python, "-c", "import dkim, nacl").CombinedOutput()
	if err == nil {
		return
	}
	msg := "dkimpy not available (" + python + " -c 'import dkim, nacl': " + strings.TrimSpace(string(out)) + " " + err.Error() + "); install python3-dkim python3-nacl"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func runPython(t *testing.T, script string, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(python, append([]string{"-c", script}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	return out
}

func TestDkimpyVerifiesSluice(t *testing.T) {
	needDkimpy(t)
	rsaKey, edKey := testKeys(t)
	keys := map[string]crypto.Signer{"rsa2048": rsaKey, "ed": edKey}
	records := map[string]string{}
	for sel, k := range keys {
		records[sel+"._domainkey.example.org"], _ = RecordValue(k.Public())
	}
	js, _ := json.Marshal(records)
	for _, msg := range []string{testMsg, readFile(t, "testdata/dkimpy/test.eml"), readFile(t, "testdata/dkimpy/rfc6376-w1258.eml")} {
		msg = strings.NewReplacer("@example.com", "@example.org", "@football.example.com", "@example.org").Replace(msg)
		signed, err := signer(t, "example.org", keys).Sign([]byte(msg))
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Fields(string(runPython(t, dkimpyVerify, signed, string(js))))
		if strings.Join(got, " ") != "pass pass" {
			t.Errorf("dkimpy says %v for the RSA and Ed25519 signatures of\n%s", got, signed)
		}
		tampered := bytes.Replace(signed, []byte("Subject: "), []byte("Subject: Re: "), 1)
		if got := strings.Fields(string(runPython(t, dkimpyVerify, tampered, string(js)))); strings.Join(got, " ") != "fail fail" {
			t.Errorf("dkimpy says %v for a tampered Subject", got)
		}
	}
}

func TestSluiceVerifiesDkimpy(t *testing.T) {
	needDkimpy(t)
	for _, tc := range []struct{ keyFile, alg, domain string }{
		{"testdata/dkimpy/test.private", "rsa-sha256", "example.com"},
		{"testdata/dkimpy/2048_testkey.key", "rsa-sha256", "example.com"},
		{"testdata/dkimpy/ed25519test.key", "ed25519-sha256", "example.net"},
	} {
		k, err := LoadKey(tc.keyFile)
		if err != nil {
			t.Fatal(err)
		}
		rec, _ := TXTRecord(tc.domain, "py", k.Public())
		z, err := resolver.ParseZone(rec + "\n")
		if err != nil {
			t.Fatal(err)
		}
		abs, _ := filepath.Abs(tc.keyFile)
		for _, in := range []string{testMsg, readFile(t, "testdata/dkimpy/test.eml")} {
			signed := runPython(t, dkimpySign, []byte(in), "py", tc.domain, abs, tc.alg)
			f := Verify(context.Background(), z, signed, 0)
			if f.Result != ResultPass || f.Results[0].Algorithm != tc.alg {
				t.Errorf("%s %s: %+v\n%s", tc.keyFile, tc.alg, f, signed)
			}
			// And a change in transit is caught.
			bad := bytes.Replace(signed, []byte("\r\n\r\n"), []byte("\r\n\r\nP.S. "), 1)
			if f := Verify(context.Background(), z, bad, 0); f.Result != ResultFail {
				t.Errorf("%s: altered body gives %s", tc.keyFile, f.Result)
			}
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
