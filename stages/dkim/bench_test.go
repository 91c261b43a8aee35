package dkim

import (
	"context"
	"crypto"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/engine"
)

// typicalMessage is about 5 KB: a dozen header fields and a text body.
func typicalMessage() []byte {
	var b strings.Builder
	b.WriteString("Received: from mail.example.org (mail.example.org [192.0.2.1])\r\n\tby mx.example.net with ESMTPS id 4Xyz; Sun, 29 Nov 2026 10:00:00 +0000\r\n")
	b.WriteString(testMsg[:strings.Index(testMsg, "\r\n\r\n")+2])
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	line := "The quick brown fox jumps over the lazy dog, and then writes a long e-mail about it.\r\n"
	for b.Len() < 5*1024 {
		b.WriteString(line)
	}
	return []byte(b.String())
}

func benchVerify(b *testing.B, key crypto.Signer) {
	keys := map[string]crypto.Signer{"s": key}
	signed, err := signer(b, "example.org", keys).Sign(typicalMessage())
	if err != nil {
		b.Fatal(err)
	}
	zone := zoneFor(b, "example.org", keys)
	b.SetBytes(int64(len(signed)))
	b.ResetTimer()
	for b.Loop() {
		if f := Verify(context.Background(), zone, signed, 0); f.Result != ResultPass {
			b.Fatal(f)
		}
	}
}

// BenchmarkVerifyRSA2048 verifies one rsa-sha256 signature on a 5 KB message.
func BenchmarkVerifyRSA2048(b *testing.B) {
	rsaKey, _ := testKeys(b)
	benchVerify(b, rsaKey)
}

// BenchmarkVerifyEd25519 verifies one ed25519-sha256 signature on a 5 KB message.
func BenchmarkVerifyEd25519(b *testing.B) {
	_, edKey := testKeys(b)
	benchVerify(b, edKey)
}

// BenchmarkSignDual signs a 5 KB message with RSA-2048 and Ed25519.
func BenchmarkSignDual(b *testing.B) {
	rsaKey, edKey := testKeys(b)
	s := signer(b, "example.org", map[string]crypto.Signer{"r": rsaKey, "e": edKey})
	msg := typicalMessage()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := s.Sign(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStage runs the dkim stage on a dual-signed 5 KB message with a
// warm resolver (the zone answers from memory).
func BenchmarkStage(b *testing.B) {
	rsaKey, edKey := testKeys(b)
	keys := map[string]crypto.Signer{"r": rsaKey, "e": edKey}
	signed, err := signer(b, "example.org", keys).Sign(typicalMessage())
	if err != nil {
		b.Fatal(err)
	}
	zone := zoneFor(b, "example.org", keys)
	st := &Stage{}
	for b.Loop() {
		in := &engine.Input{Msg: engine.NewMessage(engine.Envelope{}, signed), Facts: &engine.Facts{}, DNS: zone}
		if err := st.Run(context.Background(), in); err != nil || !in.Facts.DKIM.Pass {
			b.Fatal(err, in.Facts.DKIM)
		}
	}
}
