package arc

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sluicemail/sluice/stages/resolver"
)

// MaxInstances is the most ARC sets a message may carry (RFC 8617 section
// 4.2.1); a chain with more fails.
const MaxInstances = 50

// The chain validation results (RFC 8617 section 4.4), plus temperror
// when a key lookup failed temporarily (a retry may pass; the facts never
// turn a DNS failure into a fail).
const (
	ChainNone      = "none"
	ChainPass      = "pass"
	ChainFail      = "fail"
	ChainTempError = "temperror"
)

// Result is the validation of a message's ARC chain.
type Result struct {
	Chain  string // none, pass, fail, temperror
	Reason string // why it is not pass or none
	// Instances is the number of ARC sets (N).
	Instances int
	// Sealers are the d= of the ARC-Seals, oldest (i=1) first, as far as
	// they could be read.
	Sealers []string
	// Results are the ARC-Authentication-Results payloads (after "i=N;"),
	// oldest first: what each hop saw.
	Results []string
	// OldestPass is the lowest instance from which every AMS still
	// verifies (RFC 8617 section 5.2 steps 5 to 7): 1 means the message
	// is unchanged since the first hop. 0 when the chain did not pass.
	OldestPass int
	// LastCV is the cv= of the newest seal ("" when there is none).
	LastCV string
}

// set is one ARC set: its three fields and their parsed tags.
type set struct {
	aar, ams, as    *field
	amsTags, asTags tags
	aarResults      string
	nAAR, nAMS, nAS int
}

// Verify validates the ARC chain of raw (RFC 8617 section 5.2), fetching
// keys through r. It never fails: problems are results.
func Verify(ctx context.Context, r resolver.Resolver, raw []byte) Result {
	fields, body := split(toCRLF(raw))
	sets, n, err := collect(fields)
	res := Result{Chain: ChainNone, Instances: n}
	if n == 0 && err == nil {
		return res
	}
	res.describe(sets, n)
	if err != nil {
		return res.fail(err)
	}
	if err := structure(sets, n); err != nil {
		return res.fail(err)
	}
	if err := verifyAMS(ctx, r, fields, body, sets[n]); err != nil {
		return res.fail(fmt.Errorf("ARC-Message-Signature i=%d: %w", n, err))
	}
	for i := n; i >= 1; i-- {
		if err := verifySeal(ctx, r, sets, i); err != nil {
			return res.fail(fmt.Errorf("ARC-Seal i=%d: %w", i, err))
		}
	}
	res.Chain, res.OldestPass = ChainPass, n
	for i := n - 1; i >= 1 && verifyAMS(ctx, r, fields, body, sets[i]) == nil; i-- {
		res.OldestPass = i
	}
	return res
}

func (res Result) fail(err error) Result {
	res.Chain, res.Reason = ChainFail, err.Error()
	if errors.Is(err, errTemp) {
		res.Chain = ChainTempError
	}
	return res
}

// describe fills what can be read of the chain, even a broken one.
func (res *Result) describe(sets map[int]*set, n int) {
	for i := 1; i <= n; i++ {
		s := sets[i]
		if s == nil {
			continue
		}
		if s.asTags != nil {
			res.Sealers = append(res.Sealers, strings.ToLower(s.asTags["d"]))
			if i == n {
				res.LastCV = s.asTags["cv"]
			}
		}
		if s.aar != nil {
			res.Results = append(res.Results, s.aarResults)
		}
	}
}

// collect groups the ARC fields by instance. A field whose instance cannot
// be read, an instance over MaxInstances or a repeated field fails the
// chain; n is the highest instance seen.
func collect(fields []field) (map[int]*set, int, error) {
	sets := map[int]*set{}
	n := 0
	var first error
	fail := func(err error) {
		if first == nil {
			first = err
		}
	}
	get := func(i int) *set {
		if sets[i] == nil {
			sets[i] = &set{}
		}
		n = max(n, i)
		return sets[i]
	}
	for i := range fields {
		f := &fields[i]
		switch strings.ToLower(f.name) {
		case "arc-authentication-results":
			inst, rest, err := aarInstance(f.value())
			if err != nil {
				fail(err)
				continue
			}
			s := get(inst)
			s.aar, s.aarResults = f, squeeze(strings.ReplaceAll(rest, "\r\n", ""))
			s.nAAR++
		case "arc-message-signature", "arc-seal":
			t, err := parseTags(f.value())
			inst := 0
			if err == nil {
				inst, err = t.instance()
			}
			if err != nil {
				fail(fmt.Errorf("%s: %v", f.name, err))
				continue
			}
			s := get(inst)
			if strings.EqualFold(f.name, "arc-seal") {
				s.as, s.asTags = f, t
				s.nAS++
			} else {
				s.ams, s.amsTags = f, t
				s.nAMS++
			}
		}
	}
	return sets, n, first
}

// structure checks RFC 8617 section 5.2 steps 2 and 3: one of each field
// per instance, instances 1..N with no gap, cv=none at 1, pass above.
func structure(sets map[int]*set, n int) error {
	if len(sets) != n {
		return fmt.Errorf("ARC instances are not 1..%d", n)
	}
	if cv := sets[n].asTags["cv"]; sets[n].as != nil && cv == ChainFail {
		return fmt.Errorf("the newest ARC-Seal says cv=fail")
	}
	for i := 1; i <= n; i++ {
		s := sets[i]
		if s.nAAR != 1 || s.nAMS != 1 || s.nAS != 1 {
			return fmt.Errorf("ARC set %d has %d AAR, %d AMS and %d AS fields, want one of each", i, s.nAAR, s.nAMS, s.nAS)
		}
		want := ChainPass
		if i == 1 {
			want = ChainNone
		}
		if cv := s.asTags["cv"]; cv != want {
			return fmt.Errorf("ARC-Seal i=%d has cv=%q, want %s", i, cv, want)
		}
	}
	return nil
}

// verifyAMS checks one ARC-Message-Signature the way DKIM checks a
// signature (RFC 8617 section 4.1.2), with i= in place of v= and AUID.
func verifyAMS(ctx context.Context, r resolver.Resolver, fields []field, body []byte, s *set) error {
	t := s.amsTags
	if err := commonTags(t); err != nil {
		return err
	}
	if _, ok := t["h"]; !ok {
		return fmt.Errorf("missing h= tag")
	}
	if err := t.require("bh"); err != nil {
		return err
	}
	relaxedH, relaxedB, err := canonicalization(t)
	if err != nil {
		return err
	}
	limit := int64(-1)
	if l, ok := t["l"]; ok {
		if limit, err = strconv.ParseInt(l, 10, 64); err != nil || limit < 0 {
			return fmt.Errorf("invalid l=%q", l)
		}
	}
	bh, err := base64.StdEncoding.DecodeString(stripWS(t["bh"]))
	if err != nil {
		return fmt.Errorf("bh= is not base64")
	}
	if !bytes.Equal(bh, bodyHash(body, relaxedB, limit)) {
		return fmt.Errorf("body hash does not match (the body changed)")
	}
	var names []string
	for _, n := range strings.Split(t["h"], ":") {
		n = strings.TrimSpace(n)
		if strings.EqualFold(n, "arc-seal") {
			return fmt.Errorf("h= lists ARC-Seal (RFC 8617 section 4.1.2)")
		}
		names = append(names, n)
	}
	var data strings.Builder
	for _, f := range pickHeaders(fields, names) {
		data.WriteString(canonHeader(f, relaxedH) + "\r\n")
	}
	data.WriteString(canonHeader(withoutB(*s.ams), relaxedH))
	return checkSignature(ctx, r, t, data.String())
}

// verifySeal checks the ARC-Seal of instance i over the sets 1..i (RFC
// 8617 section 5.1.1), always with relaxed header canonicalization.
func verifySeal(ctx context.Context, r resolver.Resolver, sets map[int]*set, i int) error {
	t := sets[i].asTags
	if err := commonTags(t); err != nil {
		return err
	}
	if _, ok := t["h"]; ok {
		return fmt.Errorf("an ARC-Seal has no h= tag (RFC 8617 section 4.1.3)")
	}
	return checkSignature(ctx, r, t, sealInput(sets, i, nil))
}

// sealInput is what the ARC-Seal of instance i signs: the AAR, AMS and
// AS of each set from 1 to i, the last AS without its b= value. last,
// when not nil, stands in for the AS of set i (while sealing).
func sealInput(sets map[int]*set, i int, last *field) string {
	var b strings.Builder
	for j := 1; j <= i; j++ {
		s := sets[j]
		b.WriteString(canonHeader(*s.aar, true) + "\r\n")
		b.WriteString(canonHeader(*s.ams, true) + "\r\n")
		as := s.as
		if j == i && last != nil {
			as = last
		}
		if j < i {
			b.WriteString(canonHeader(*as, true) + "\r\n")
		} else {
			b.WriteString(canonHeader(withoutB(*as), true))
		}
	}
	return b.String()
}

// commonTags checks what AMS and AS share: the algorithm (rsa-sha256, or
// ed25519-sha256 as some sealers use it), d=, s=, b=, t=.
func commonTags(t tags) error {
	if err := t.require("a", "b", "d", "s"); err != nil {
		return err
	}
	if t["a"] != "rsa-sha256" && t["a"] != "ed25519-sha256" {
		return fmt.Errorf("unsupported algorithm a=%s", t["a"])
	}
	if !validName(t["d"]) || !validName(t["s"]) {
		return fmt.Errorf("invalid d=%q or s=%q", t["d"], t["s"])
	}
	if v, ok := t["t"]; ok {
		if _, err := strconv.ParseUint(v, 10, 64); err != nil {
			return fmt.Errorf("invalid t=%q", v)
		}
	}
	return nil
}

// canonicalization reads c=. Without one an AMS is relaxed/relaxed, not
// DKIM's simple/simple: the ARC test suite (ams_fields_c_na) and dkimpy,
// the reference implementation it was written against, both say so.
func canonicalization(t tags) (relaxedH, relaxedB bool, err error) {
	c, ok := t["c"]
	if !ok {
		return true, true, nil
	}
	h, b, hasB := strings.Cut(c, "/")
	if !hasB {
		b = "simple"
	}
	for _, v := range []string{h, b} {
		if v != "simple" && v != "relaxed" {
			return false, false, fmt.Errorf("invalid c=%q", c)
		}
	}
	return h == "relaxed", b == "relaxed", nil
}

// checkSignature verifies b= over data with the key at s=, d=.
func checkSignature(ctx context.Context, r resolver.Resolver, t tags, data string) error {
	sig, err := base64.StdEncoding.DecodeString(stripWS(t["b"]))
	if err != nil {
		return fmt.Errorf("b= is not base64")
	}
	pub, err := lookupKey(ctx, r, t["d"], t["s"])
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(data))
	ok := false
	switch k := pub.(type) {
	case *rsa.PublicKey:
		ok = t["a"] == "rsa-sha256" && rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], sig) == nil
	case ed25519.PublicKey:
		// RFC 8463 section 3: Ed25519 signs the SHA-256 hash.
		ok = t["a"] == "ed25519-sha256" && ed25519.Verify(k, sum[:], sig)
	}
	if !ok {
		return fmt.Errorf("signature does not verify")
	}
	return nil
}
