package forward

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/server/queue"
	"github.com/sluicemail/sluice/server/srs"
	"github.com/sluicemail/sluice/stages/arc"
	"github.com/sluicemail/sluice/stages/resolver"
)

type putQueue struct {
	env queue.Envelope
	raw []byte
}

func (q *putQueue) Put(ctx context.Context, env queue.Envelope, raw []byte) (string, error) {
	q.env, q.raw = env, raw
	return "ID1", nil
}

// The hook as Sieve's redirect uses it: Queue rewrites a foreign sender,
// keeps ours and the null sender, and seals the message.
func TestQueue(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	rec := "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
	z := resolver.NewZone()
	z.Add(resolver.NewTXT("arc._domainkey.example.net", 300, rec[:200], rec[200:]))
	rw, _ := srs.New("example.net", []string{"secret"}, srs.Options{})
	f := &Forwarder{SRS: rw, DNS: z, IsLocal: func(d string) bool { return d == "example.net" },
		Sealer: &arc.Sealer{Domain: "example.net", Selector: "arc", Key: key, AuthServID: "mx.example.net"}}
	msg := []byte("Authentication-Results: mx.example.net; spf=pass smtp.mailfrom=a@sender.example\r\nFrom: a@sender.example\r\nSubject: hi\r\n\r\nbody\r\n")
	for sender, want := range map[string]string{"a@sender.example": "SRS0=", "bob@example.net": "bob@example.net", "": ""} {
		q := &putQueue{}
		id, err := f.Queue(context.Background(), q, sender, []string{"x@dest.test"}, msg, "sieve redirect")
		if err != nil || id != "ID1" {
			t.Fatal(err)
		}
		if !strings.HasPrefix(q.env.From, want) || (want == "" && q.env.From != "") || q.env.Rcpt[0].Addr != "x@dest.test" || q.env.Rcpt[0].Local {
			t.Errorf("sender %q: envelope %+v", sender, q.env)
		}
		res := arc.Verify(context.Background(), z, q.raw)
		if res.Chain != arc.ChainPass || !strings.Contains(res.Results[0], "spf=pass") {
			t.Errorf("sender %q: seal %+v", sender, res)
		}
	}
	if _, err := f.Queue(context.Background(), &putQueue{}, "a@b.example", nil, msg, ""); err == nil {
		t.Error("no recipients accepted")
	}
	var none *Forwarder
	if from, out := none.Prepare(context.Background(), "a@b.example", msg, ""); from != "a@b.example" || string(out) != string(msg) {
		t.Error("a nil Forwarder changed the message")
	}
}
