package dkim

import (
	"bytes"
	"context"
	"crypto"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	msgdkim "github.com/emersion/go-msgauth/dkim"
	"github.com/miekg/dns"
	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages/resolver"
)

// signWith signs testMsg with go-msgauth options directly, for signatures
// our Signer would never make (expired, other domains).
func signWith(t *testing.T, msg []byte, o msgdkim.SignOptions) []byte {
	t.Helper()
	o.HeaderCanonicalization, o.BodyCanonicalization = msgdkim.CanonicalizationRelaxed, msgdkim.CanonicalizationRelaxed
	var out bytes.Buffer
	if err := msgdkim.Sign(&out, bytes.NewReader(msg), &o); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func txt(t *testing.T, z *resolver.Zone, name string, values ...string) {
	t.Helper()
	for _, v := range values {
		z.Add(&dns.TXT{Hdr: dns.RR_Header{Name: dns.Fqdn(name), Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 300}, Txt: []string{v}})
	}
}

// TestResults gives a zone fixture for every result word.
func TestResults(t *testing.T) {
	rsaKey, edKey := testKeys(t)
	rsaRec, _ := RecordValue(rsaKey.Public())
	edRec, _ := RecordValue(edKey.Public())
	badRSA, _ := os.ReadFile("testdata/dkimpy/test_bad.txt")
	badVersion, _ := os.ReadFile("testdata/dkimpy/badversion.txt")
	msg := []byte(testMsg)
	rsaSigned := signWith(t, msg, msgdkim.SignOptions{Domain: "example.org", Selector: "s", Signer: rsaKey})
	edSigned := signWith(t, msg, msgdkim.SignOptions{Domain: "example.org", Selector: "s", Signer: edKey})
	expired := signWith(t, msg, msgdkim.SignOptions{Domain: "example.org", Selector: "s", Signer: edKey, Expiration: time.Now().Add(-time.Second)})
	bodyChanged := bytes.Replace(rsaSigned, []byte("noon"), []byte("one"), 1)
	headerChanged := bytes.Replace(edSigned, []byte("Subject: lunch"), []byte("Subject: lunch!"), 1)
	withL := bytes.Replace(edSigned, []byte("DKIM-Signature: "), []byte("DKIM-Signature: l=5; "), 1)

	cases := []struct {
		name    string
		msg     []byte
		zone    func(z *resolver.Zone)
		result  string
		reason  string
		bodyLim bool
	}{
		{"rsa pass", rsaSigned, func(z *resolver.Zone) { txt(t, z, "s._domainkey.example.org", rsaRec) }, ResultPass, "", false},
		{"ed25519 pass", edSigned, func(z *resolver.Zone) { txt(t, z, "s._domainkey.example.org", edRec) }, ResultPass, "", false},
		{"split record pass", rsaSigned, func(z *resolver.Zone) {
			z.Add(&dns.TXT{Hdr: dns.RR_Header{Name: "s._domainkey.example.org.", Rrtype: dns.TypeTXT, Class: dns.ClassINET}, Txt: []string{rsaRec[:100], rsaRec[100:]}})
		}, ResultPass, "", false},
		{"unsigned", msg, func(*resolver.Zone) {}, ResultNone, "", false},
		{"body hash", bodyChanged, func(z *resolver.Zone) { txt(t, z, "s._domainkey.example.org", rsaRec) }, ResultFail, "body hash", false},
		{"signature", headerChanged, func(z *resolver.Zone) { txt(t, z, "s._domainkey.example.org", edRec) }, ResultFail, "signature did not verify", false},
		{"l= tag", withL, func(z *resolver.Zone) { txt(t, z, "s._domainkey.example.org", edRec) }, ResultFail, "body length", true},
		{"servfail", rsaSigned, func(z *resolver.Zone) { z.Fail("s._domainkey.example.org", resolver.ErrServFail) }, ResultTempError, "key unavailable", false},
		{"timeout", rsaSigned, func(z *resolver.Zone) { z.Fail("s._domainkey.example.org", resolver.ErrTimeout) }, ResultTempError, "key unavailable", false},
		{"no key", rsaSigned, func(*resolver.Zone) {}, ResultPermError, "no key", false},
		{"nodata", rsaSigned, func(z *resolver.Zone) {
			z.Add(&dns.A{Hdr: dns.RR_Header{Name: "s._domainkey.example.org.", Rrtype: dns.TypeA, Class: dns.ClassINET}, A: []byte{192, 0, 2, 1}})
		}, ResultPermError, "no key", false},
		{"revoked", rsaSigned, func(z *resolver.Zone) { txt(t, z, "s._domainkey.example.org", "v=DKIM1; k=rsa; p=") }, ResultPermError, "revoked", false},
		{"corrupt p=", rsaSigned, func(z *resolver.Zone) { txt(t, z, "s._domainkey.example.org", strings.TrimSpace(string(badRSA))) }, ResultPermError, "key syntax", false},
		{"bad version", rsaSigned, func(z *resolver.Zone) { txt(t, z, "s._domainkey.example.org", strings.TrimSpace(string(badVersion))) }, ResultPermError, "", false},
		{"wrong key type", rsaSigned, func(z *resolver.Zone) { txt(t, z, "s._domainkey.example.org", edRec) }, ResultPermError, "inappropriate key algorithm", false},
		{"two records", rsaSigned, func(z *resolver.Zone) { txt(t, z, "s._domainkey.example.org", rsaRec, rsaRec) }, ResultPermError, "multiple", false},
		{"expired", expired, func(z *resolver.Zone) { txt(t, z, "s._domainkey.example.org", edRec) }, ResultPermError, "expired", false},
		{"no end of header", []byte("DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=s; h=from; bh=x; b=y\r\nFrom: a@example.org\r\n"), func(z *resolver.Zone) { txt(t, z, "s._domainkey.example.org", rsaRec) }, ResultPermError, "could not be read", false},
		{"bad tag list", bytes.Replace(rsaSigned, []byte("DKIM-Signature: "), []byte("DKIM-Signature: junk; "), 1), func(z *resolver.Zone) { txt(t, z, "s._domainkey.example.org", rsaRec) }, ResultPermError, "malformed tag-list", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			z := resolver.NewZone()
			tc.zone(z)
			f := Verify(context.Background(), z, tc.msg, 0)
			if f.Result != tc.result {
				t.Fatalf("result %s, want %s (%+v)", f.Result, tc.result, f.Results)
			}
			if tc.result == ResultNone {
				if len(f.Results) != 0 || f.Pass {
					t.Errorf("%+v", f)
				}
				return
			}
			r := f.Results[0]
			if r.Domain != "example.org" || r.Selector != "s" || !strings.Contains(r.Reason, tc.reason) || r.BodyLimit != tc.bodyLim {
				t.Errorf("%+v (want reason ~%q, body_limit %v)", r, tc.reason, tc.bodyLim)
			}
			if f.Pass != (tc.result == ResultPass) {
				t.Errorf("pass %v", f.Pass)
			}
		})
	}
}

// TestTooManySignatures: signatures past the bound are not verified and
// get neutral; the message result still reflects the verified ones.
func TestTooManySignatures(t *testing.T) {
	_, edKey := testKeys(t)
	edRec, _ := RecordValue(edKey.Public())
	z := resolver.NewZone()
	msg := []byte(testMsg)
	for i := 0; i < 12; i++ {
		msg = signWith(t, msg, msgdkim.SignOptions{Domain: fmt.Sprintf("d%d.example", i), Selector: "s", Signer: edKey})
		txt(t, z, fmt.Sprintf("s._domainkey.d%d.example", i), edRec)
	}
	cr := &countingResolver{Resolver: z}
	f := Verify(context.Background(), cr, msg, 10)
	if len(f.Results) != 12 || f.Result != ResultPass || len(f.PassDomains) != 10 {
		t.Fatalf("%+v", f)
	}
	for i, r := range f.Results {
		want := ResultPass
		if i >= 10 {
			want = ResultNeutral
		}
		if r.Result != want {
			t.Errorf("sig %d: %s, want %s", i, r.Result, want)
		}
	}
	if n := cr.n.Load(); n != 10 {
		t.Errorf("%d queries, want 10", n)
	}
}

// TestSummary: any pass wins; temperror outranks fail.
func TestSummary(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{ResultFail, ResultPass}, ResultPass},
		{[]string{ResultFail, ResultTempError}, ResultTempError},
		{[]string{ResultPermError, ResultFail}, ResultFail},
		{[]string{ResultNeutral, ResultPermError}, ResultPermError},
		{[]string{ResultNeutral}, ResultNeutral},
	} {
		var rs []engine.DKIMResult
		for i, r := range tc.in {
			rs = append(rs, engine.DKIMResult{Domain: fmt.Sprint("d", i), Result: r})
		}
		if got := summarize(rs).Result; got != tc.want {
			t.Errorf("%v: %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestStage runs the registered stage through a pipeline, as the server
// does: a rule on dkim.* makes the engine run it.
func TestStage(t *testing.T) {
	rsaKey, _ := testKeys(t)
	keys := map[string]crypto.Signer{"r1": rsaKey}
	signed, err := signer(t, "example.org", keys).Sign([]byte(testMsg))
	if err != nil {
		t.Fatal(err)
	}
	st, err := New(stagesSettings("max_signatures: 3"))
	if err != nil {
		t.Fatal(err)
	}
	when, err := engine.Compile(`dkim.pass and "example.org" in dkim.pass_domains`, true)
	if err != nil {
		t.Fatal(err)
	}
	p := &engine.Pipeline{Name: "inbound", Stages: map[string]engine.Stage{"dkim": st},
		Rules: []*engine.Rule{{Name: "dkim-ok", When: when, Score: -1}}}
	if err := p.Prepare(); err != nil {
		t.Fatal(err)
	}
	tx := p.Begin(engine.NewMessage(engine.Envelope{}, signed), engine.WithResolver(zoneFor(t, "example.org", keys)))
	v := tx.Evaluate(context.Background(), engine.PhaseData)
	if len(v.Fired) != 1 || tx.Facts().DKIM.Results[0].Selector != "r1" {
		t.Fatalf("verdict %+v facts %+v", v, tx.Facts().DKIM)
	}
	if _, err := New(stagesSettings("max_sigs: 3")); err == nil {
		t.Error("misspelt setting accepted")
	}
	st.Fail(tx.Facts(), context.DeadlineExceeded)
	if tx.Facts().DKIM.Result != ResultTempError {
		t.Error("Fail did not record temperror")
	}
}
