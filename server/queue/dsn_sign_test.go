package queue_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"testing"

	msgdkim "github.com/emersion/go-msgauth/dkim"
	"github.com/sluicemail/sluice/server/queue"
	"github.com/sluicemail/sluice/stages/dkim"
)

// bouncedDSN puts a message whose one recipient cannot be delivered into
// a queue that signs with an ed25519 key of domain, and returns the DSN
// that reaches the relay, after checking its shape.
func bouncedDSN(t *testing.T, domain string) (pub ed25519.PublicKey, raw []byte) {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := dkim.NewSigner(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := signer.Add(domain, "s1", key); err != nil {
		t.Fatal(err)
	}
	s := newSystem(t, func(o *queue.Options) { o.Sign = signer.Sign })
	env := queue.Envelope{From: "someone@dest.test", Rcpt: []queue.Recipient{
		{Addr: "../bad@local.test", Local: true, User: "../bad@local.test"}}}
	if _, err := s.q.Put(context.Background(), env, []byte(outMsg)); err != nil {
		t.Fatal(err)
	}
	queue.WaitFor(t, "the DSN to arrive", func() bool { return len(s.smtp.Messages()) == 1 && len(s.q.List()) == 0 })
	raw = s.smtp.Messages()[0].Data
	checkDSN(t, raw)
	return pub, raw
}

// TestDSNSigned: with Options.Sign set to the DKIM signer, the DSN that
// goes out through the relay carries a signature of the host's parent
// domain that verifies against its published key, so that the receiver's
// DMARC check on MAILER-DAEMON@mx.sluice.test passes (relaxed alignment).
func TestDSNSigned(t *testing.T) {
	pub, raw := bouncedDSN(t, "sluice.test")

	record := "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)
	verifs, err := msgdkim.VerifyWithOptions(bytes.NewReader(raw), &msgdkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) {
			if name != "s1._domainkey.sluice.test" {
				t.Errorf("key looked up at %s", name)
			}
			return []string{record}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(verifs) != 1 || verifs[0].Err != nil || verifs[0].Domain != "sluice.test" {
		t.Fatalf("DSN signature: %+v", verifs)
	}
}

// TestDSNSignFailureSendsUnsigned: a signer that has no key for the host's
// domain leaves the DSN as it was; the DSN still goes out.
func TestDSNSignFailureSendsUnsigned(t *testing.T) {
	_, raw := bouncedDSN(t, "other.test")
	if bytes.Contains(raw, []byte("DKIM-Signature")) {
		t.Fatal("a DSN with no key for its domain was signed")
	}
}
