package bayes

import (
	"bytes"
	"crypto/sha256"
	"fmt"
)

// Class is what a message was learnt as.
type Class uint8

// The two classes.
const (
	Ham Class = iota + 1
	Spam
)

// String returns "ham" or "spam".
func (c Class) String() string {
	switch c {
	case Ham:
		return "ham"
	case Spam:
		return "spam"
	}
	return fmt.Sprintf("class(%d)", uint8(c))
}

// Digest identifies a learnt message, so that learning it twice counts once
// and unlearning subtracts what learning added.
type Digest [16]byte

// DigestOf returns the digest of a raw message, ignoring the mbox From_
// line and the difference between CRLF and LF line ends.
func DigestOf(raw []byte) Digest {
	raw = TrimFromLine(raw)
	h := sha256.New()
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, '\r')
		if i < 0 {
			h.Write(raw)
			break
		}
		h.Write(raw[:i])
		if i+1 < len(raw) && raw[i+1] == '\n' {
			raw = raw[i+1:]
			continue
		}
		h.Write([]byte{'\r'})
		raw = raw[i+1:]
	}
	var d Digest
	copy(d[:], h.Sum(nil))
	return d
}

// Change is one message learnt (or unlearnt) with its tokens.
type Change struct {
	Digest  Digest
	Class   Class    // for a learn: the class to learn it as
	Tokens  []string // distinct tokens of the message
	Unlearn bool     // remove the message from whatever class it was learnt as
	// Features are the message's hashed features for the logistic
	// regression, and Step how far a learn moves their weights (positive
	// towards spam). The store remembers each message's step, so that
	// unlearning it, or learning it as the other class, takes that step
	// back exactly. No features: the counts alone change.
	Features []uint32
	Step     float32
}

// Stats describe what a model has learnt.
type Stats struct {
	Spam, Ham             int // messages learnt per class
	SpamTokens, HamTokens int // distinct tokens seen per class
	Tokenizer             int // TokenizerVersion the model was trained with
	Weights               int // non-zero logistic-regression weights
}

// Store keeps the counts a model needs: how many messages of each class were
// learnt, and in how many of each class every token appeared. It is safe for
// concurrent use. The file store is the one in use; a later one shares the
// counts between servers, which is why the interface speaks of counts and
// changes rather than of a file.
type Store interface {
	// Counts fills spam[i] and ham[i] with the number of spam and ham
	// messages that contained tokens[i], and returns the number of messages
	// learnt per class.
	Counts(tokens []string, spam, ham []float64) (nspam, nham int, err error)
	// Apply learns or unlearns one message. changed is false when it made no
	// difference: the message was already learnt as that class, or was not
	// learnt at all when unlearning. Learning a message as the other class
	// moves it.
	Apply(c Change) (changed bool, err error)
	// Margin returns the sum of the logistic-regression weights of the
	// features (0 for a store that learnt none).
	Margin(features []uint32) (float64, error)
	// Stats reports the totals.
	Stats() (Stats, error)
	// Save makes every change applied so far durable.
	Save() error
}
