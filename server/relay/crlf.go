package relay

// NormalizeCRLF rewrites every bare LF and bare CR as CRLF, so that what
// we send has exactly one kind of line end and no receiver can read an
// end-of-data sequence that we did not mean ("SMTP smuggling": <LF>.<LF>,
// <CR>.<CR> and their mixes). RFC 5321 section 2.3.8 forbids bare CR and LF
// in SMTP anyway.
func NormalizeCRLF(b []byte) []byte {
	clean := true
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') || c == '\r' && (i+1 == len(b) || b[i+1] != '\n') {
			clean = false
			break
		}
	}
	if clean {
		return b
	}
	out := make([]byte, 0, len(b)+len(b)/32+2)
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '\r':
			out = append(out, '\r', '\n')
			if i+1 < len(b) && b[i+1] == '\n' {
				i++
			}
		case '\n':
			out = append(out, '\r', '\n')
		default:
			out = append(out, c)
		}
	}
	return out
}
