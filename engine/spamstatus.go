package engine

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// SpamStatusField is the header field sluice writes on the mail it
// receives: the verdict's score and the Bayes spam probability, which
// the users' Sieve filters read for spamtest (RFC 5235). Copies that
// arrive with a message are removed first (StripSpamStatus), so the one
// a filter reads is always ours.
const SpamStatusField = "X-Sluice-Spam"

// SpamStatus is the field for a verdict, with the Bayes probability when
// the model was trained and asked.
func SpamStatus(score float64, bayes BayesFacts) string {
	s := fmt.Sprintf("%s: score=%s", SpamStatusField, strconv.FormatFloat(score, 'f', -1, 64))
	if bayes.Trained {
		s += fmt.Sprintf("; bayes=%.3f", bayes.Spam)
	}
	return s + "\r\n"
}

// ParseSpamStatus reads a SpamStatusField value; hasBayes is false when
// it holds no Bayes probability, ok false when it is not ours.
func ParseSpamStatus(value string) (score, bayes float64, hasBayes, ok bool) {
	for _, part := range strings.Split(value, ";") {
		k, v, found := strings.Cut(strings.TrimSpace(part), "=")
		if !found {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return 0, 0, false, false
		}
		switch k {
		case "score":
			score, ok = f, true
		case "bayes":
			bayes, hasBayes = f, true
		}
	}
	return score, bayes, hasBayes, ok
}

// StripSpamStatus removes every SpamStatusField from the header of raw,
// continuation lines included.
func StripSpamStatus(raw []byte) []byte {
	prefix := []byte(strings.ToLower(SpamStatusField) + ":")
	var out []byte // nil until the first removal
	kept, pos := 0, 0
	skipping := false
	for pos < len(raw) {
		nl := bytes.IndexByte(raw[pos:], '\n')
		end := len(raw)
		if nl >= 0 {
			end = pos + nl + 1
		}
		line := raw[pos:end]
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			break // the end of the header
		}
		cont := line[0] == ' ' || line[0] == '\t'
		if !cont {
			skipping = len(line) >= len(prefix) && bytes.EqualFold(line[:len(prefix)], prefix)
		}
		if skipping {
			if out == nil {
				out = make([]byte, 0, len(raw))
			}
			out = append(out, raw[kept:pos]...)
			kept = end
		}
		pos = end
	}
	if out == nil {
		return raw
	}
	return append(out, raw[kept:]...)
}
