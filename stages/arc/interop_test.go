package arc

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sluicemail/sluice/stages/resolver"
)

// Interoperability with dkimpy's ARC (python3-dkim with python3-authres),
// an independent implementation: what sluice seals dkimpy validates, what
// dkimpy seals sluice validates, hop after hop, and a body changed in
// transit breaks the chain for both.

const python = "/usr/bin/python3" // Debian's, where apt installs python3-dkim

// dkimpyARC seals (argv[1] == "sign": selector domain keyfile srv-id) or
// validates ("verify") the message on stdin, answering key queries from
// the JSON map in argv[2].
const dkimpyARC = `
import sys, json, dkim
mode, keys = sys.argv[1], json.loads(sys.argv[2])
def dnsfunc(name, timeout=5):
    n = name.decode() if isinstance(name, bytes) else name
    v = keys.get(n.rstrip('.'))
    return v.encode() if v is not None else None
msg = sys.stdin.buffer.read()
if mode == 'sign':
    sel, dom, keyfile, srv = sys.argv[3:7]
    hdrs = dkim.arc_sign(msg, sel.encode(), dom.encode(), open(keyfile, 'rb').read(), srv.encode(),
        include_headers=[b'from', b'to', b'subject', b'date', b'message-id'], timestamp=1767225600)
    sys.stdout.buffer.write(b''.join(hdrs) + msg)
else:
    cv, results, reason = dkim.arc_verify(msg, dnsfunc=dnsfunc)
    print(cv.decode(), reason)
`

func needDkimpy(t *testing.T) {
	t.Helper()
	out, err := exec.Command(python, "-c", "import dkim, authres").CombinedOutput()
	if err == nil {
		return
	}
	msg := "dkimpy ARC not available (" + strings.TrimSpace(string(out)) + "): install python3-dkim python3-authres"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// interop holds two signers' keys, published in one zone for sluice and
// one map for dkimpy.
type interop struct {
	t       *testing.T
	zone    *resolver.Zone
	records map[string]string
	dir     string
}

func newInterop(t *testing.T) *interop {
	needDkimpy(t)
	return &interop{t: t, zone: resolver.NewZone(), records: map[string]string{}, dir: t.TempDir()}
}

// key makes an RSA key for d= and s=, publishes it and writes it as PEM.
func (io *interop) key(domain, selector string) (*rsa.PrivateKey, string) {
	io.t.Helper()
	k := testKey(io.t, domain)
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	rec := "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
	name := selector + "._domainkey." + domain
	io.records[name] = rec
	io.zone.Add(resolver.NewTXT(name, 300, rec[:200], rec[200:]))
	path := filepath.Join(io.dir, domain+".pem")
	os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), 0o600)
	return k, path
}

var (
	keysMu sync.Mutex
	keys   = map[string]*rsa.PrivateKey{}
)

// testKey returns the 2048-bit key of a test domain, made once per run
// (making one costs a second or more under the race detector).
func testKey(t testing.TB, domain string) *rsa.PrivateKey {
	t.Helper()
	keysMu.Lock()
	defer keysMu.Unlock()
	if k := keys[domain]; k != nil {
		return k
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keys[domain] = k
	return k
}

func (io *interop) python(stdin []byte, args ...string) string {
	io.t.Helper()
	js, _ := json.Marshal(io.records)
	cmd := exec.Command(python, append([]string{"-c", dkimpyARC, args[0], string(js)}, args[1:]...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		io.t.Fatalf("dkimpy: %v\n%s", err, stderr.String())
	}
	return string(out)
}

func (io *interop) dkimpyVerify(msg []byte) string {
	io.t.Helper()
	return strings.Fields(io.python(msg, "verify") + " ?")[0]
}

const interopMsg = "Authentication-Results: mx.fwd.example; spf=pass smtp.mailfrom=alice@example.org;\r\n" +
	" dkim=pass header.d=example.org; dmarc=pass header.from=example.org\r\n" +
	"From: Alice <alice@example.org>\r\nTo: list@lists.example\r\nSubject: ARC interop\r\n" +
	"Date: Thu, 01 Jan 2026 00:00:00 +0000\r\nMessage-ID: <arc-interop@example.org>\r\n\r\n" +
	"Forwarded  with care.\r\nSecond line.\r\n"

// withAR puts an Authentication-Results field of srv on top, with the arc
// result dkimpy takes its cv= from.
func withAR(srv, cv string, msg []byte) []byte {
	return append([]byte("Authentication-Results: "+srv+"; arc="+cv+"\r\n"), msg...)
}

func TestDkimpyValidatesSluice(t *testing.T) {
	io := newInterop(t)
	key, _ := io.key("fwd.example", "arc")
	_, pyKey := io.key("lists.example", "py")
	s := &Sealer{Domain: "fwd.example", Selector: "arc", Key: key, AuthServID: "mx.fwd.example"}
	one, err := s.Seal(context.Background(), io.zone, []byte(interopMsg), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := io.dkimpyVerify(one); got != "pass" {
		t.Fatalf("dkimpy says %s for sluice's i=1 seal:\n%s", got, one)
	}
	// dkimpy forwards it on (i=2), then sluice again (i=3): dkimpy
	// validates the whole chain.
	two := []byte(io.python(withAR("lists.example", "pass", one), "sign", "py", "lists.example", pyKey, "lists.example"))
	three, err := s.Seal(context.Background(), io.zone, two, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := io.dkimpyVerify(three); got != "pass" {
		t.Fatalf("dkimpy says %s for a three-hop chain:\n%s", got, three)
	}
	broken := bytes.Replace(three, []byte("Second line."), []byte("Second line, changed."), 1)
	if got := io.dkimpyVerify(broken); got != "fail" {
		t.Errorf("dkimpy says %s after the body changed", got)
	}
}

func TestSluiceValidatesDkimpy(t *testing.T) {
	io := newInterop(t)
	_, pyKey := io.key("lists.example", "py")
	key, _ := io.key("fwd.example", "arc")
	one := []byte(io.python(withAR("lists.example", "none", []byte(interopMsg)), "sign", "py", "lists.example", pyKey, "lists.example"))
	res := Verify(context.Background(), io.zone, one)
	if res.Chain != ChainPass || strings.Join(res.Sealers, ",") != "lists.example" || !strings.Contains(res.Results[0], "arc=none") {
		t.Fatalf("dkimpy's i=1: %+v\n%s", res, one)
	}
	s := &Sealer{Domain: "fwd.example", Selector: "arc", Key: key, AuthServID: "mx.fwd.example"}
	two, err := s.Seal(context.Background(), io.zone, one, "")
	if err != nil {
		t.Fatal(err)
	}
	// A second authserv-id: the first hop's Authentication-Results is
	// still in the message, and two arc= stamps of one ADMD fail dkimpy.
	three := []byte(io.python(withAR("hop3.lists.example", "pass", two), "sign", "py", "lists.example", pyKey, "hop3.lists.example"))
	res = Verify(context.Background(), io.zone, three)
	if res.Chain != ChainPass || res.Instances != 3 || strings.Join(res.Sealers, ",") != "lists.example,fwd.example,lists.example" || res.OldestPass != 1 {
		t.Fatalf("three hops: %+v", res)
	}
	broken := bytes.Replace(three, []byte("Forwarded  with care."), []byte("Forwarded with care."), 1)
	if res := Verify(context.Background(), io.zone, broken); res.Chain != ChainPass {
		// relaxed body canonicalization: a change of whitespace runs is no change
		t.Errorf("whitespace-only change: %+v", res)
	}
	broken = bytes.Replace(three, []byte("Second line."), []byte("Second line, changed."), 1)
	if res := Verify(context.Background(), io.zone, broken); res.Chain != ChainFail || !strings.Contains(res.Reason, "body hash") {
		t.Errorf("body changed in transit: %+v", res)
	}
}
