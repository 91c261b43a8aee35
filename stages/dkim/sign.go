package dkim

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	msgdkim "github.com/emersion/go-msgauth/dkim"
	"github.com/sluicemail/sluice/engine"
)

// Signing of outgoing mail (RFC 6376 section 5). Whether a message is
// signed at all is the server's decision: it signs authenticated outbound
// mail by default, and a rule can skip or force signing through the
// verdict's DKIMSign (nil leaves the default). Signer only decides how.

// ErrNoKey is returned, with the message unchanged, when no configured key
// matches the From domain.
var ErrNoKey = errors.New("dkim: no signing key for the From domain")

// ErrNoFrom is returned, with the message unchanged, when the message has
// no From address to choose a key by (RFC 6376 section 5.4: From must be
// signed).
var ErrNoFrom = errors.New("dkim: message has no From address")

// SignerConfig is one signing key: the d= domain, the s= selector and the
// private key file (see ParseKey for the formats).
type SignerConfig struct {
	Domain   string
	Selector string
	KeyFile  string
}

// Signer signs messages with the keys configured per domain. It is safe for
// concurrent use.
type Signer struct {
	keys map[string][]signingKey // by lower-case domain, RSA before Ed25519
}

type signingKey struct {
	domain, selector string
	key              crypto.Signer
}

// NewSigner loads the keys. A domain may have several (an RSA and an
// Ed25519 key for dual signing, RFC 8463 section 4).
func NewSigner(cfgs []SignerConfig) (*Signer, error) {
	s := &Signer{keys: map[string][]signingKey{}}
	for _, c := range cfgs {
		k, err := LoadKey(c.KeyFile)
		if err != nil {
			return nil, err
		}
		if err := s.Add(c.Domain, c.Selector, k); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Add adds a key already in memory. Call it while setting the Signer up,
// not concurrently with Sign.
func (s *Signer) Add(domain, selector string, key crypto.Signer) error {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	if !validName(domain) || !validName(selector) {
		return fmt.Errorf("dkim: invalid domain %q or selector %q", domain, selector)
	}
	if _, err := checkKey(key); err != nil {
		return fmt.Errorf("dkim key for %s: %w", domain, err)
	}
	if pub, ok := key.Public().(*rsa.PublicKey); ok && pub.N.BitLen() < 2048 {
		slog.Warn("DKIM RSA key shorter than 2048 bits (RFC 8301 says SHOULD use 2048)", "domain", domain, "selector", selector)
	}
	k := signingKey{domain: domain, selector: selector, key: key}
	if keyAlgorithm(key.Public()) == "rsa" {
		s.keys[domain] = append([]signingKey{k}, s.keys[domain]...)
	} else {
		s.keys[domain] = append(s.keys[domain], k)
	}
	return nil
}

// Sign returns raw with a DKIM-Signature field prepended per key of the
// From domain (or of its closest configured parent domain): relaxed/relaxed,
// sha256, no l=. A message with bare LF line ends is converted to CRLF
// first, as it will travel. With no matching key it returns raw unchanged
// and ErrNoKey.
func (s *Signer) Sign(raw []byte) ([]byte, error) {
	raw = toCRLF(raw)
	h := engine.NewMessage(engine.Envelope{}, raw).Header()
	from, _ := h.Addresses("From")
	if len(from) == 0 || engine.DomainOf(from[0].Address) == "" {
		return raw, ErrNoFrom
	}
	keys := s.keysFor(engine.DomainOf(from[0].Address))
	if len(keys) == 0 {
		return raw, fmt.Errorf("%w (%s)", ErrNoKey, engine.DomainOf(from[0].Address))
	}
	fields := headerKeys(h)
	var sigs bytes.Buffer
	for _, k := range keys {
		sg, err := msgdkim.NewSigner(&msgdkim.SignOptions{
			Domain: k.domain, Selector: k.selector, Signer: k.key,
			HeaderCanonicalization: msgdkim.CanonicalizationRelaxed,
			BodyCanonicalization:   msgdkim.CanonicalizationRelaxed,
			HeaderKeys:             fields,
		})
		if err != nil {
			return raw, fmt.Errorf("dkim sign %s: %w", k.domain, err)
		}
		if _, err := sg.Write(raw); err != nil {
			sg.Close()
			return raw, fmt.Errorf("dkim sign %s: %w", k.domain, err)
		}
		if err := sg.Close(); err != nil {
			return raw, fmt.Errorf("dkim sign %s: %w", k.domain, err)
		}
		sigs.WriteString(sg.Signature())
	}
	out := make([]byte, 0, sigs.Len()+len(raw))
	return append(append(out, sigs.Bytes()...), raw...), nil
}

// keysFor returns the keys of domain or of its closest configured parent.
func (s *Signer) keysFor(domain string) []signingKey {
	for d := domain; d != ""; {
		if k := s.keys[d]; len(k) > 0 {
			return k
		}
		_, parent, ok := strings.Cut(d, ".")
		if !ok {
			break
		}
		d = parent
	}
	return nil
}

// signedFields are the fields signed when present (RFC 6376 section
// 5.4.1), plus every List-* field (RFC 2369, RFC 2919).
var signedFields = []string{"From", "To", "Cc", "Subject", "Date", "Message-ID", "Reply-To",
	"In-Reply-To", "References", "MIME-Version", "Content-Type", "Content-Transfer-Encoding"}

// overSigned fields are listed once more than they occur, so that a field
// of that name added in transit breaks the signature (RFC 6376 section
// 8.15).
var overSigned = map[string]bool{"from": true, "to": true, "subject": true, "date": true}

// headerKeys builds h= for the message.
func headerKeys(h *engine.Header) []string {
	count := map[string]int{}
	var lists []string
	for _, f := range h.Fields {
		k := strings.ToLower(f.Name)
		if count[k] == 0 && strings.HasPrefix(k, "list-") {
			lists = append(lists, f.Name)
		}
		count[k]++
	}
	var keys []string
	for _, name := range append(append([]string(nil), signedFields...), lists...) {
		n := count[strings.ToLower(name)]
		if overSigned[strings.ToLower(name)] {
			n++
		}
		for i := 0; i < n; i++ {
			keys = append(keys, name)
		}
	}
	return keys
}
