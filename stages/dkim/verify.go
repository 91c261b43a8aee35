package dkim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	msgdkim "github.com/emersion/go-msgauth/dkim"
	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages/resolver"
)

// DefaultMaxSignatures bounds the signatures verified per message: each one
// costs a DNS query and a public-key operation, and a hostile message could
// carry thousands. Signatures past the bound get result neutral.
const DefaultMaxSignatures = 10

// The result words of RFC 8601 section 2.7.1 used in the facts.
const (
	ResultPass      = "pass"
	ResultFail      = "fail"
	ResultNeutral   = "neutral"
	ResultNone      = "none"
	ResultTempError = "temperror"
	ResultPermError = "permerror"
)

// Verify checks every DKIM-Signature of raw (RFC 6376, RSA and Ed25519 per
// RFC 8463), fetching keys through r with ctx bound to every lookup. It
// never fails: problems are results. maxSigs <= 0 means
// DefaultMaxSignatures.
func Verify(ctx context.Context, r resolver.Resolver, raw []byte, maxSigs int) engine.DKIMFacts {
	return verify(ctx, r, engine.NewMessage(engine.Envelope{}, raw), maxSigs)
}

// verify checks the signatures of m, reusing its parsed header when the
// message needs no line-end repair.
func verify(ctx context.Context, r resolver.Resolver, m *engine.Message, maxSigs int) engine.DKIMFacts {
	if maxSigs <= 0 {
		maxSigs = DefaultMaxSignatures
	}
	raw := toCRLF(m.Raw)
	h := m.Header()
	if len(raw) != len(m.Raw) {
		h = engine.NewMessage(engine.Envelope{}, raw).Header()
	}
	sigs := signatures(h)
	if len(sigs) == 0 {
		return engine.DKIMFacts{Result: ResultNone}
	}
	verifs, err := msgdkim.VerifyWithOptions(bytes.NewReader(raw), &msgdkim.VerifyOptions{
		LookupTXT:        txtLookup(ctx, r),
		MaxVerifications: maxSigs,
	})
	if err != nil && !errors.Is(err, msgdkim.ErrTooManySignatures) {
		// Only a message whose header cannot be read gets here.
		verifs = nil
	}
	results := make([]engine.DKIMResult, len(sigs))
	for i, si := range sigs {
		res := engine.DKIMResult{Domain: si.Domain, Selector: si.Selector, Algorithm: si.Algorithm, BodyLimit: si.BodyLimit}
		switch {
		case si.Err != nil:
			res.Result, res.Reason = ResultPermError, si.Err.Error()
		case i >= maxSigs:
			res.Result, res.Reason = ResultNeutral, fmt.Sprintf("not verified: more than %d signatures", maxSigs)
		case i >= len(verifs) || len(verifs) > len(sigs):
			res.Result, res.Reason = ResultPermError, "message header could not be read for verification"
			if err != nil {
				res.Reason += ": " + err.Error()
			}
		default:
			res.Result, res.Reason = classify(verifs[i].Err)
		}
		if si.BodyLimit && res.Result != ResultPass && res.Reason != "" {
			res.Reason += " (l= body length tag)"
		}
		results[i] = res
	}
	return summarize(results)
}

// classify maps a go-msgauth verification error to a result word and a
// reason: temperror for DNS trouble, permerror for a bad key record or
// signature syntax (and expiry, RFC 6376 section 3.5 x=), fail for a
// signature or body hash that does not verify.
func classify(err error) (result, reason string) {
	if err == nil {
		return ResultPass, ""
	}
	reason = strings.TrimPrefix(err.Error(), "dkim: ")
	switch {
	case msgdkim.IsTempFail(err):
		return ResultTempError, reason
	case msgdkim.IsPermFail(err):
		return ResultPermError, reason
	}
	return ResultFail, reason
}

// rank orders results for the message-level summary: any pass wins; a
// temporary failure outranks a failure, because a retry may pass.
var rank = map[string]int{ResultPass: 5, ResultTempError: 4, ResultFail: 3, ResultPermError: 2, ResultNeutral: 1}

func summarize(results []engine.DKIMResult) engine.DKIMFacts {
	f := engine.DKIMFacts{Result: ResultNone, Results: results}
	best := 0
	for _, r := range results {
		if r.Result == ResultPass {
			f.Pass = true
			if !contains(f.PassDomains, r.Domain) {
				f.PassDomains = append(f.PassDomains, r.Domain)
			}
		}
		if rank[r.Result] > best {
			best, f.Result = rank[r.Result], r.Result
		}
	}
	return f
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// signatures returns the DKIM-Signature fields of raw, top to bottom, in the
// order go-msgauth verifies them.
func signatures(h *engine.Header) []sigInfo {
	var out []sigInfo
	for _, f := range h.Fields {
		if strings.EqualFold(f.Name, "DKIM-Signature") {
			out = append(out, parseSignature(f.Value))
		}
	}
	return out
}

// toCRLF converts a message stored with bare LF line ends (a file, an mbox)
// to the CRLF form it had on the wire. A message with any CRLF is left
// alone: its bytes are what was signed.
func toCRLF(raw []byte) []byte {
	if bytes.Contains(raw, []byte("\r\n")) || !bytes.Contains(raw, []byte("\n")) {
		return raw
	}
	return bytes.ReplaceAll(raw, []byte("\n"), []byte("\r\n"))
}
