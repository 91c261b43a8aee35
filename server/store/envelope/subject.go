package envelope

import "strings"

// BaseSubject extracts the base subject of RFC 5256 section 2.1, by
// which SORT (SUBJECT) orders and ORDEREDSUBJECT threads: the subject
// (already decoded from RFC 2047) with runs of white space made one
// space, reply and forward markers ("Re:", "Fwd:", "[list]" blobs before
// them, a trailing "(fwd)", a "[Fwd: ...]" wrapper) removed, and case
// folded as i;ascii-casemap folds it (to upper case). reply says whether
// the subject was a reply or a forward (something was removed apart from
// white space and list blobs), which THREAD=REFERENCES uses when it
// gathers threads by subject.
func BaseSubject(subject string) (base string, reply bool) {
	s := strings.Join(strings.Fields(subject), " ")
	for {
		prev := s
		// (2) trailing "(fwd)" and white space
		for {
			t := strings.TrimRight(s, " ")
			if strings.HasSuffix(strings.ToLower(t), "(fwd)") {
				t = t[:len(t)-len("(fwd)")]
				reply = true
			}
			if t == s {
				break
			}
			s = t
		}
		// (3)-(5) leading subj-refwd and subj-blob, repeatedly
		for {
			t := strings.TrimLeft(s, " ")
			if r, ok := trimRefwd(t); ok {
				t = r
				reply = true
			} else if r, ok := trimBlob(t); ok && strings.TrimSpace(r) != "" {
				t = r
			}
			if t == s {
				break
			}
			s = t
		}
		// (6) "[fwd:" ... "]" wrapper
		if l := strings.ToLower(s); strings.HasPrefix(l, "[fwd:") && strings.HasSuffix(s, "]") {
			s = strings.TrimSpace(s[len("[fwd:") : len(s)-1])
			reply = true
			continue
		}
		if s == prev {
			break
		}
	}
	return strings.ToUpper(s), reply
}

// trimRefwd removes subj-refwd: ("re" / ("fw" ["d"])) *WSP [subj-blob] ":".
func trimRefwd(s string) (string, bool) {
	l := strings.ToLower(s)
	var n int
	switch {
	case strings.HasPrefix(l, "re"):
		n = 2
	case strings.HasPrefix(l, "fwd"):
		n = 3
	case strings.HasPrefix(l, "fw"):
		n = 2
	default:
		return s, false
	}
	rest := strings.TrimLeft(s[n:], " ")
	if r, ok := trimBlob(rest); ok {
		rest = r
	}
	if !strings.HasPrefix(rest, ":") {
		return s, false
	}
	return rest[1:], true
}

// trimBlob removes a leading subj-blob: "[" *BLOBCHAR "]" *WSP.
func trimBlob(s string) (string, bool) {
	if !strings.HasPrefix(s, "[") {
		return s, false
	}
	end := strings.IndexAny(s[1:], "[]")
	if end < 0 || s[1+end] != ']' {
		return s, false
	}
	return strings.TrimLeft(s[end+2:], " "), true
}
