package arc

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluicemail/sluice/stages/resolver"
)

// ErrChainFailed is returned, with the message unchanged, by Seal when the
// newest ARC-Seal already says cv=fail: RFC 8617 section 5.1 step 1 says
// to add nothing to a chain that has failed.
var ErrChainFailed = errors.New("arc: the chain has already failed; no ARC set added")

// DefaultHeaders are the fields the ARC-Message-Signature covers when
// present: those DKIM signers sign (RFC 6376 section 5.4.1), and the
// DKIM-Signature fields, whose breakage a later hop may want to see.
var DefaultHeaders = []string{"From", "To", "Cc", "Subject", "Date", "Message-ID", "Reply-To",
	"In-Reply-To", "References", "MIME-Version", "Content-Type", "Content-Transfer-Encoding", "DKIM-Signature"}

// Sealer adds an ARC set (RFC 8617 section 5.1) to messages a server
// forwards. It is safe for concurrent use once set up.
type Sealer struct {
	Domain     string          // d= of the AMS and AS
	Selector   string          // s=: the key's DKIM record is at <s>._domainkey.<d>
	Key        *rsa.PrivateKey // ARC defines rsa-sha256 only
	AuthServID string          // ours: the Authentication-Results fields carrying it become the AAR
	// Headers are the fields the AMS signs (h=), in that order; nil means
	// those of DefaultHeaders that the message has.
	Headers []string
	Now     func() time.Time // default time.Now
}

// Seal returns raw with a new ARC set on top: ARC-Seal,
// ARC-Message-Signature and ARC-Authentication-Results, instance N+1.
// cv is the chain's validation result when the caller already has it
// (pass, fail or none); "" makes Seal validate the chain itself through
// r. The AAR carries our Authentication-Results (the fields with our
// authserv-id, merged in order, as the ARC test suite does), with an
// arc= result added when they have none. A chain that has already failed
// gets nothing (ErrChainFailed); one that cannot be validated now
// (temperror) or has reached MaxInstances is an error; raw comes back
// unchanged with every error.
func (s *Sealer) Seal(ctx context.Context, r resolver.Resolver, raw []byte, cv string) ([]byte, error) {
	if s.Key == nil || s.Domain == "" || s.Selector == "" {
		return raw, errors.New("arc: sealer has no key, domain or selector")
	}
	raw = toCRLF(raw)
	fields, body := split(raw)
	sets, n, _ := collect(fields)
	if n > 0 && sets[n].as != nil && sets[n].asTags["cv"] == ChainFail {
		return raw, ErrChainFailed
	}
	if n >= MaxInstances {
		return raw, fmt.Errorf("arc: the chain already has %d sets", n)
	}
	if cv == "" {
		res := Verify(ctx, r, raw)
		if res.Chain == ChainTempError {
			return raw, fmt.Errorf("arc: cannot validate the chain now: %s", res.Reason)
		}
		cv = res.Chain
	}
	if cv != ChainNone && cv != ChainPass && cv != ChainFail {
		return raw, fmt.Errorf("arc: invalid cv %q", cv)
	}
	if n == 0 {
		cv = ChainNone
	}
	i := n + 1
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	t := strconv.FormatInt(now().Unix(), 10)
	aar := field{name: "ARC-Authentication-Results", raw: "ARC-Authentication-Results: i=" + strconv.Itoa(i) + "; " +
		s.AuthServID + ";" + foldList(s.results(fields, cv))}
	ams, err := s.messageSignature(append([]field{aar}, fields...), body, i, t)
	if err != nil {
		return raw, err
	}
	as, err := s.seal(sets, &aar, &ams, i, cv, t)
	if err != nil {
		return raw, err
	}
	out := make([]byte, 0, len(raw)+len(as.raw)+len(ams.raw)+len(aar.raw)+6)
	for _, f := range []field{as, ams, aar} {
		out = append(append(out, f.raw...), "\r\n"...)
	}
	return append(out, raw...), nil
}

// seal writes the ARC-Seal of instance i over the sets before it and the
// new AAR and AMS; a failed chain is sealed as if the new set were the
// only one (RFC 8617 section 5.1.2).
func (s *Sealer) seal(sets map[int]*set, aar, ams *field, i int, cv, t string) (field, error) {
	tg := [][2]string{{"a", "rsa-sha256"}, {"b", ""}, {"cv", cv}, {"d", s.domain()}, {"i", strconv.Itoa(i)}, {"s", strings.ToLower(s.Selector)}, {"t", t}}
	as := field{name: "ARC-Seal", raw: formatTags("ARC-Seal", tg)}
	input := sealInput(map[int]*set{1: {aar: aar, ams: ams}}, 1, &as)
	if cv != ChainFail {
		all := map[int]*set{i: {aar: aar, ams: ams}}
		for j := 1; j < i; j++ {
			all[j] = sets[j]
		}
		input = sealInput(all, i, &as)
	}
	sig, err := s.sign(input)
	if err != nil {
		return field{}, err
	}
	tg[1][1] = sig
	as.raw = formatTags("ARC-Seal", tg)
	return as, nil
}

func (s *Sealer) domain() string { return strings.ToLower(strings.TrimSuffix(s.Domain, ".")) }

// messageSignature writes the AMS of instance i over fields (the new AAR
// on top) and body, relaxed/relaxed.
func (s *Sealer) messageSignature(fields []field, body []byte, i int, t string) (field, error) {
	names := s.Headers
	if names == nil {
		names = present(fields, DefaultHeaders)
	}
	lower := make([]string, len(names))
	for j, n := range names {
		lower[j] = strings.ToLower(strings.TrimSpace(n))
	}
	bh := base64.StdEncoding.EncodeToString(bodyHash(body, true, -1))
	tg := [][2]string{{"a", "rsa-sha256"}, {"b", ""}, {"bh", bh}, {"c", "relaxed/relaxed"}, {"d", s.domain()},
		{"h", strings.Join(lower, ":")}, {"i", strconv.Itoa(i)}, {"s", strings.ToLower(s.Selector)}, {"t", t}}
	ams := field{name: "ARC-Message-Signature", raw: formatTags("ARC-Message-Signature", tg)}
	var data strings.Builder
	for _, f := range pickHeaders(fields, lower) {
		data.WriteString(canonHeader(f, true) + "\r\n")
	}
	data.WriteString(canonHeader(withoutB(ams), true))
	sig, err := s.sign(data.String())
	if err != nil {
		return field{}, err
	}
	tg[1][1] = sig
	ams.raw = formatTags("ARC-Message-Signature", tg)
	return ams, nil
}

func (s *Sealer) sign(data string) (string, error) {
	sum := sha256.Sum256([]byte(data))
	sig, err := s.Key.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("arc: signing: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// results is the AAR payload: every result of the Authentication-Results
// fields with our authserv-id, in order, and arc=cv first when they have
// no arc result.
func (s *Sealer) results(fields []field, cv string) []string {
	var out []string
	hasARC := false
	for _, f := range fields {
		if !strings.EqualFold(f.name, "Authentication-Results") {
			continue
		}
		v := strings.ReplaceAll(f.value(), "\r\n", "")
		parts := splitResults(v)
		if len(parts) == 0 || !strings.EqualFold(authservID(parts[0]), s.AuthServID) {
			continue
		}
		for _, p := range parts[1:] {
			p = squeeze(p)
			if p == "" || strings.EqualFold(p, "none") {
				continue
			}
			hasARC = hasARC || strings.HasPrefix(strings.ToLower(p), "arc=")
			out = append(out, p)
		}
	}
	if !hasARC {
		out = append([]string{"arc=" + cv}, out...)
	}
	return out
}

// authservID is the first word of an Authentication-Results value (a
// version number may follow it, RFC 8601 section 2.2).
func authservID(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// splitResults splits an Authentication-Results value at the semicolons
// that are outside comments and quoted strings.
func splitResults(v string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case c == ';' && depth == 0:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

// present returns the names of want that fields has, in want's order.
func present(fields []field, want []string) []string {
	var out []string
	for _, w := range want {
		for _, f := range fields {
			if strings.EqualFold(f.name, w) {
				out = append(out, w)
				break
			}
		}
	}
	return out
}

// formatTags writes a field of tags in the order given, "; " between
// them, folded before a tag that would pass 76 columns but never inside a
// value: whitespace folded into b= survives relaxed canonicalization as a
// space, so a later seal's signature would depend on where this one was
// folded. The ARC test suite's expected seals are computed over unfolded
// values, and so are ours (a long b= line stays far under RFC 5322's 998).
func formatTags(name string, tg [][2]string) string {
	var b strings.Builder
	b.WriteString(name + ":")
	col := len(name) + 1
	for j, kv := range tg {
		item := kv[0] + "=" + kv[1]
		if j < len(tg)-1 {
			item += ";"
		}
		if col+1+len(item) > 76 && col > len(name)+1 {
			b.WriteString("\r\n\t")
			col = 8
		} else {
			b.WriteByte(' ')
			col++
		}
		b.WriteString(item)
		col += len(item)
	}
	return b.String()
}

// foldList writes the AAR results, one per line after the first.
func foldList(results []string) string {
	return " " + strings.Join(results, ";\r\n\t")
}

func sortedKeys(t tags) []string {
	out := make([]string, 0, len(t))
	for k := range t {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
