package store

import (
	"sort"
	"strings"
)

// IMAP system flags and the Maildir info letters that hold them (the
// letters Dovecot and mbsync use; "P", passed, is $Forwarded).
var flagLetters = []struct {
	Flag   string
	Letter byte
}{
	{`\Draft`, 'D'},
	{`\Flagged`, 'F'},
	{`$Forwarded`, 'P'},
	{`\Answered`, 'R'},
	{`\Seen`, 'S'},
	{`\Deleted`, 'T'},
}

// Flag letters the store reads itself.
const (
	LetterSeen    = 'S'
	LetterDeleted = 'T'
)

// LetterOf returns the Maildir letter of an IMAP flag (case-insensitive),
// or 0 when the flag is a keyword kept in the index.
func LetterOf(flag string) byte {
	for _, f := range flagLetters {
		if strings.EqualFold(f.Flag, flag) {
			return f.Letter
		}
	}
	return 0
}

// FlagList returns the IMAP flags of Maildir letters and keywords.
// Letters without an IMAP meaning are not shown.
func FlagList(letters string, keywords []string) []string {
	out := make([]string, 0, len(letters)+len(keywords))
	for _, f := range flagLetters {
		if strings.IndexByte(letters, f.Letter) >= 0 {
			out = append(out, f.Flag)
		}
	}
	return append(out, keywords...)
}

// SplitFlags divides IMAP flags into Maildir letters and keywords;
// keywords are deduplicated case-insensitively and sorted. \Recent and
// other unknown system flags are dropped.
func SplitFlags(flags []string) (letters string, keywords []string) {
	var b []byte
	seen := map[string]bool{}
	for _, f := range flags {
		if l := LetterOf(f); l != 0 {
			b = append(b, l)
			continue
		}
		if f == "" || f[0] == '\\' || seen[strings.ToLower(f)] {
			continue
		}
		seen[strings.ToLower(f)] = true
		keywords = append(keywords, f)
	}
	sort.Strings(keywords)
	return CleanFlags(string(b)), keywords
}

// mergeKeywords applies op ("+", "-" or "=") to a keyword list.
func mergeKeywords(have []string, op byte, kw []string) []string {
	switch op {
	case '=':
		return kw
	case '+':
		out := append([]string(nil), have...)
		for _, k := range kw {
			if !containsFold(out, k) {
				out = append(out, k)
			}
		}
		sort.Strings(out)
		return out
	default:
		var out []string
		for _, k := range have {
			if !containsFold(kw, k) {
				out = append(out, k)
			}
		}
		return out
	}
}

// mergeLetters applies op to Maildir letters, leaving letters the IMAP
// flags do not cover (Dovecot keywords a-z) untouched on "=".
func mergeLetters(have string, op byte, set string) string {
	switch op {
	case '=':
		keep := make([]byte, 0, len(have))
		for i := 0; i < len(have); i++ {
			if !isIMAPLetter(have[i]) {
				keep = append(keep, have[i])
			}
		}
		return CleanFlags(string(keep) + set)
	case '+':
		return CleanFlags(have + set)
	default:
		out := make([]byte, 0, len(have))
		for i := 0; i < len(have); i++ {
			if strings.IndexByte(set, have[i]) < 0 {
				out = append(out, have[i])
			}
		}
		return string(out)
	}
}

func isIMAPLetter(c byte) bool {
	for _, f := range flagLetters {
		if f.Letter == c {
			return true
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
