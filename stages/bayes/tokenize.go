package bayes

import (
	"bytes"
	"strings"
	"sync"

	"github.com/sluicemail/sluice/engine"
)

// TokenizerVersion changes whenever Tokenize would produce different tokens
// for the same message. A model remembers the version it was trained with,
// because unlearning a message must subtract the tokens it once added.
const TokenizerVersion = 1

// Options selects the tokenizer's features. DefaultOptions is what the stage
// and the trainer use; the switches exist so that the accuracy benchmark can
// measure what each feature gains (bench/bayes/README.md).
type Options struct {
	Headers     bool // tokens from Subject, From, Reply-To, Received, X-Mailer, priorities
	HeaderNames bool // one token per header field name present
	MIME        bool // Content-Type, charset and transfer-encoding structure
	HTMLMarkup  bool // tokens for suspicious markup: hidden text, images, forms, scripts
	HTMLTags    bool // one token per HTML tag name used
	URLs        bool // URL host and registered domain
	URLPaths    bool // words of URL paths
	Buckets     bool // digits mapped to shapes, long words bucketed by length
	Pairs       bool // pairs of adjacent body words
	KeepCase    bool // an extra token for words written in capitals
	ReceivedBy  bool // Received names after "by" (the receiving side) as well as after "from"
	ReceivedIP  bool // the /16 network of each Received hop's IP literal
	SkipPairs   bool // pairs of body words one word apart, beside adjacent pairs (OSB)
	Consistency bool // whether Return-Path agrees with From, and the Date parses
	NoWords     bool // with Pairs: body words count only within their pairs, not alone
	Triples     bool // runs of three adjacent body words, beside pairs
	Recipient   bool // whether To or Cc names the envelope recipient (solicited mail does; Bcc'd spam does not)
	MaxTokens   int  // cap on distinct tokens per message
}

// DefaultOptions are the features that won on cross-validation of the
// training groups (see bench/bayes/README.md). Body words count alone and
// in pairs: counting them in pairs only (NoWords) halved the ham flagged
// when one mailing list at a time was held out, but flagged more
// newsletters and caught less spam on the held-out set, so it is off.
var DefaultOptions = Options{
	Headers:     true,
	HeaderNames: true,
	MIME:        true,
	HTMLMarkup:  true,
	HTMLTags:    false,
	URLs:        true,
	URLPaths:    true,
	Buckets:     true,
	Pairs:       true,
	KeepCase:    true,
	ReceivedBy:  true,
	ReceivedIP:  true,
	MaxTokens:   3000,
}

// Bounds on the words looked at, so that a hostile message costs bounded
// work whatever its size.
const (
	minWord      = 3
	maxWord      = 20
	maxBodyBytes = 256 << 10
	maxURLs      = 200
)

// Tokenize returns the distinct tokens of a message with DefaultOptions.
func Tokenize(m *engine.Message) []string { return DefaultOptions.Tokenize(m) }

// Tokenize returns the distinct tokens of a message, header tokens first,
// at most o.MaxTokens of them. It never fails: a malformed message yields
// whatever could be parsed, plus a token saying it was malformed.
func (o Options) Tokenize(m *engine.Message) []string {
	return o.tokenize(m, make([]string, 0, 512), false)
}

// tokenize is Tokenize appending to list, which must be empty; with arena
// the new tokens' bytes share a few chunks (tokens.keep), for a caller
// that drops them all together.
func (o Options) tokenize(m *engine.Message, list []string, arena bool) []string {
	t := newTokens(o.MaxTokens, list)
	t.inArena = arena
	h := m.Header()
	if o.Headers {
		headerTokens(t, h, o)
	}
	if o.Consistency {
		consistencyTokens(t, h)
	}
	if o.Recipient {
		recipientTokens(t, h, m.Envelope.Rcpt)
	}
	if o.HeaderNames {
		headerNameTokens(t, h)
	}
	if o.MIME {
		mimeTokens(t, m.Raw)
	}
	mp := parseParts(m.Raw, maxBodyBytes)
	if h.Defect != "" || mp.defect {
		t.add("mime:malformed")
	}
	w := wordSplitter{t: t, o: o}
	for _, p := range mp.texts {
		text := p.text
		if p.ctype == "text/html" {
			var links []string
			text, links = htmlTokens(t, o, text)
			w.addURLs(links)
		}
		w.split(text, "")
	}
	w.finish()
	if o.URLs {
		for _, u := range w.urls {
			urlTokens(t, o, u)
		}
	}
	for _, a := range mp.attachments {
		t.add("attach:" + a)
	}
	return t.done()
}

// borrowed is a token list from listPool, for a caller that drops the
// tokens once it has scored them (Classify): a fresh list per message,
// grown for the long ones, was a tenth of the bytes classification
// allocated. Its new tokens are in an arena (tokens.keep): a caller that
// keeps one (a clue) must copy it.
type borrowed struct{ list []string }

var listPool = sync.Pool{New: func() any { return &borrowed{list: make([]string, 0, 512)} }}

// borrowTokens tokenizes m into a pooled list; call giveBack when done.
func (o Options) borrowTokens(m *engine.Message) *borrowed {
	b := listPool.Get().(*borrowed)
	b.list = o.tokenize(m, b.list[:0], true)
	return b
}

// giveBack returns the list to the pool; b must not be used after.
func (b *borrowed) giveBack() {
	clear(b.list) // the pool must not keep the message's strings alive
	b.list = b.list[:0]
	listPool.Put(b)
}

// TrimFromLine removes the mbox "From " separator line that files saved from
// mailboxes start with; it is not part of the message.
func TrimFromLine(raw []byte) []byte {
	if !bytes.HasPrefix(raw, []byte("From ")) {
		return raw
	}
	if i := bytes.IndexByte(raw, '\n'); i >= 0 {
		return raw[i+1:]
	}
	return raw
}

// bucket maps a count to a small set of labels, so that "17 images" and
// "19 images" are the same token.
func bucket(n int) string {
	switch {
	case n <= 3:
		return string(rune('0' + n))
	case n <= 5:
		return "4-5"
	case n <= 10:
		return "6-10"
	case n <= 20:
		return "11-20"
	case n <= 50:
		return "21-50"
	}
	return "50+"
}

// lowerASCII lower-cases s, allocating only when it has an upper-case letter;
// non-ASCII text goes through the Unicode case mapping.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return strings.ToLower(s)
		}
		if 'A' <= c && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}
