package dmarc

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	msgdmarc "github.com/emersion/go-msgauth/dmarc"
)

// Record is a parsed DMARC policy record (go-msgauth's type).
type Record = msgdmarc.Record

// ErrNotDMARC means a TXT string is not a DMARC record at all (it does not
// start with v=DMARC1); discovery skips such records (RFC 7489 section
// 6.6.3 step 3).
var ErrNotDMARC = errors.New("dmarc: not a DMARC1 record")

// ErrInvalid means a DMARC1 record whose p= (or sp=) is missing or invalid
// and which names no valid rua= URI: no DMARC processing applies (RFC 7489
// section 6.6.3 step 6).
var ErrInvalid = errors.New("dmarc: invalid policy record")

// Parse reads a DMARC record the way RFC 7489 sections 6.3 and 6.6.3 ask a
// receiver to, then hands the cleaned record to go-msgauth's dmarc.Parse:
//
//   - "v" must be the first tag, with the exact value "DMARC1" (the ABNF
//     spells it as %x-codes, so it is case-sensitive), and the record must
//     start with it (no leading space);
//   - tag names and the literal values (p, sp, adkim, aspf, fo, rf) are
//     case-insensitive (RFC 5234 section 2.3); whitespace around "=" and
//     ";" is allowed;
//   - unknown tags and parts without "=" are ignored; a repeated tag keeps
//     its first value;
//   - an invalid adkim, aspf, pct, fo, rf or ri falls back to its default;
//   - a missing or invalid p, or an invalid sp, makes the record p=none when
//     rua holds a valid URI, and invalid (ErrInvalid) otherwise.
func Parse(txt string) (*Record, error) {
	tags, err := splitTags(txt)
	if err != nil {
		return nil, err
	}
	clean := "v=DMARC1"
	add := func(k, v string) { clean += "; " + k + "=" + v }
	p, pOK := policy(tags["p"])
	sp, spOK := policy(tags["sp"])
	if _, has := tags["sp"]; !has {
		spOK = true
	}
	if !pOK || !spOK {
		if !anyValidURI(tags["rua"]) {
			return nil, fmt.Errorf("%w: p=%q sp=%q and no valid rua", ErrInvalid, tags["p"], tags["sp"])
		}
		p, sp = "none", ""
	}
	add("p", p)
	if sp != "" {
		add("sp", sp)
	}
	for _, k := range []string{"adkim", "aspf"} {
		if v := strings.ToLower(tags[k]); v == "r" || v == "s" {
			add(k, v)
		}
	}
	if n, err := strconv.Atoi(tags["pct"]); err == nil && n >= 0 && n <= 100 {
		add("pct", strconv.Itoa(n))
	}
	if fo := strings.ToLower(tags["fo"]); fo != "" && allIn(fo, "0", "1", "d", "s") {
		add("fo", fo)
	}
	if rf := strings.ToLower(tags["rf"]); rf != "" && allIn(rf, "afrf") {
		add("rf", rf)
	}
	if n, err := strconv.ParseUint(tags["ri"], 10, 32); err == nil && n > 0 {
		add("ri", strconv.FormatUint(n, 10))
	}
	for _, k := range []string{"rua", "ruf"} {
		if v, ok := tags[k]; ok {
			add(k, v)
		}
	}
	rec, err := msgdmarc.Parse(clean)
	if err != nil {
		// The cleaned record only holds values checked above.
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return rec, nil
}

// splitTags checks the version and returns the tags, names lower-cased,
// first value of each.
func splitTags(txt string) (map[string]string, error) {
	parts := strings.Split(txt, ";")
	name, value, ok := strings.Cut(parts[0], "=")
	if !ok || !strings.HasPrefix(txt, "v") || strings.TrimRight(name, " \t") != "v" || strings.TrimSpace(value) != "DMARC1" {
		return nil, ErrNotDMARC
	}
	tags := map[string]string{}
	for _, part := range parts[1:] {
		k, v, ok := strings.Cut(part, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if !ok || k == "" {
			continue
		}
		if _, dup := tags[k]; !dup {
			tags[k] = strings.TrimSpace(v)
		}
	}
	return tags, nil
}

func policy(v string) (string, bool) {
	switch v = strings.ToLower(v); v {
	case "none", "quarantine", "reject":
		return v, true
	}
	return "", false
}

func allIn(list string, allowed ...string) bool {
	for _, item := range strings.Split(list, ":") {
		found := false
		for _, a := range allowed {
			found = found || strings.TrimSpace(item) == a
		}
		if !found {
			return false
		}
	}
	return true
}

func anyValidURI(list string) bool {
	for _, u := range strings.Split(list, ",") {
		if _, _, ok := ReportURI(u); ok {
			return true
		}
	}
	return false
}

// ReportURI splits one rua/ruf entry into its URI and its size limit in
// bytes (0 when none): "mailto:a@example.com!10m" is 10 MiB; the units k,
// m, g and t are powers of two (RFC 7489 section 6.4, dmarc-uri). ok is
// false when the entry is not a URI with a scheme or the size is not a
// number.
func ReportURI(entry string) (uri string, maxSize uint64, ok bool) {
	entry = strings.TrimSpace(entry)
	uri, size, hasSize := strings.Cut(entry, "!")
	if u, err := url.Parse(uri); err != nil || u.Scheme == "" || u.Opaque == "" && u.Host == "" {
		return uri, 0, false
	}
	if !hasSize {
		return uri, 0, true
	}
	mult := uint64(1)
	if n := len(size); n > 0 {
		if shift := strings.IndexByte("kmgt", size[n-1]|0x20); shift >= 0 {
			mult, size = 1<<(10*(shift+1)), size[:n-1]
		}
	}
	n, err := strconv.ParseUint(size, 10, 64)
	if err != nil {
		return uri, 0, false
	}
	return uri, n * mult, true
}
