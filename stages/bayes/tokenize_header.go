package bayes

import (
	"bytes"
	"errors"
	"mime"
	"net/mail"
	"net/netip"
	"strings"

	"github.com/sluicemail/sluice/engine"
	"golang.org/x/net/publicsuffix"
)

// headerTokens emits tokens from the header fields that carry a signal,
// each prefixed by the field's name so that "free" in the Subject and
// "free" in the body count apart.
func headerTokens(t *tokens, h *engine.Header, o Options) {
	subjectTokens(t, h.Get("Subject"))
	from, _ := h.Addresses("From")
	fromDom := ""
	if len(from) > 0 {
		fromDom = engine.DomainOf(from[0].Address)
		addressTokens(t, "from", from[0])
	} else {
		t.add("from:none")
	}
	if rt, _ := h.Addresses("Reply-To"); len(rt) > 0 {
		addressTokens(t, "reply-to", rt[0])
		if d := engine.DomainOf(rt[0].Address); d != fromDom {
			t.add("reply-to:other-domain")
		}
	}
	to, _ := h.Addresses("To")
	cc, _ := h.Addresses("Cc")
	t.add("to:count:" + bucket(len(to)+len(cc)))
	for _, r := range h.Values("Received") {
		receivedTokens(t, r, o)
	}
	mailer := h.Get("X-Mailer")
	if mailer == "" {
		mailer = h.Get("User-Agent")
	}
	t.add("mailer:" + mailerName(mailer))
	for _, name := range []string{"X-Priority", "X-MSMail-Priority", "Importance", "Precedence"} {
		if v := h.Get(name); v != "" {
			t.add(strings.ToLower(name) + ":" + lowerASCII(firstWord(v)))
		}
	}
	if id := h.Raw("Message-ID"); id == "" {
		t.add("message-id:none")
	} else if d := registered(engine.DomainOf(strings.Trim(id, "<> "))); d != "" {
		if d == registered(fromDom) {
			t.add("message-id:from-domain")
		}
	} else {
		t.add("message-id:no-domain")
	}
	if !h.Has("Date") {
		t.add("date:none")
	}
}

func subjectTokens(t *tokens, subj string) {
	if strings.TrimSpace(subj) == "" {
		t.add("subject:none")
		return
	}
	w := wordSplitter{t: t, o: Options{Buckets: true}}
	w.split(subj, "subject:")
	if w.nwords >= 2 && w.caps == w.nwords {
		t.add("subject:all-caps")
	}
	if strings.Contains(subj, "!") {
		t.add("subject:!")
	}
	if strings.Contains(subj, "$") {
		t.add("subject:$")
	}
	if w.high > 0 {
		t.add("subject:8bit")
	}
	// Trailing random strings and long runs of spaces hide from filters.
	if strings.Contains(subj, "   ") {
		t.add("subject:spaces")
	}
}

// addressTokens describe a From or Reply-To mailbox: its domain and
// registered domain, whether it has a display name, and the shape of the
// local part.
func addressTokens(t *tokens, field string, a engine.Address) {
	d := engine.DomainOf(a.Address)
	t.add(field + ":domain:" + d)
	if r := registered(d); r != d && r != "" {
		t.add(field + ":domain:" + r)
	}
	if a.Name == "" {
		t.add(field + ":no-name")
	} else {
		w := wordSplitter{t: t, o: Options{Buckets: true}}
		w.split(a.Name, field+":name:")
	}
	local := a.Address
	if at := strings.LastIndexByte(local, '@'); at >= 0 {
		local = local[:at]
	}
	digits := 0
	for i := 0; i < len(local); i++ {
		if '0' <= local[i] && local[i] <= '9' {
			digits++
		}
	}
	if digits >= 3 {
		t.add(field + ":local:digits")
	}
}

// receivedTokens takes the registered domains named in one Received field
// ("from a.b.example by c.example") and the /16 network of the IP literal
// the hop was received from.
func receivedTokens(t *tokens, v string, o Options) {
	v = lowerASCII(v)
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i] // the date
	}
	if !o.ReceivedBy {
		v = v[:byClause(v)] // the receiving side: who collected the mail, not who sent it
	}
	start := -1
	for i := 0; i <= len(v); i++ {
		c := byte(' ')
		if i < len(v) {
			c = v[i]
		}
		if c == '.' || c == '-' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			receivedName(t, strings.Trim(v[start:i], ".-"), c == ']' && o.ReceivedIP)
			start = -1
		}
	}
}

// byClause returns where the "by" clause of a Received value starts, or
// len(v) if it has none.
func byClause(v string) int {
	for i := 0; i+3 <= len(v); i++ {
		if v[i] == 'b' && v[i+1] == 'y' && isSpace(v[i+2]) && (i == 0 || isSpace(v[i-1])) {
			return i
		}
	}
	return len(v)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// parseAddr is netip.ParseAddr, without the cost of its error for the
// common case of a host name: netip tries a dotted name as IPv4 and builds
// an error value for each, which was 5 % of the tokenizer's allocations.
// A name whose first '.', ':' or '%' is a dot parses only as IPv4, which
// allows digits and dots alone.
func parseAddr(s string) (netip.Addr, error) {
	if i := strings.IndexAny(s, ".:%"); i >= 0 && s[i] == '.' {
		for j := 0; j < len(s); j++ {
			if c := s[j]; c != '.' && (c < '0' || c > '9') {
				return netip.Addr{}, errNotIP
			}
		}
	}
	return netip.ParseAddr(s)
}

var errNotIP = errors.New("not an IP address")

func receivedName(t *tokens, name string, bracketed bool) {
	if strings.IndexByte(name, '.') < 0 {
		return
	}
	if ip, err := parseAddr(name); err == nil {
		if bracketed && ip.Is4() && !ip.IsPrivate() && !ip.IsLoopback() {
			b := ip.As4()
			t.add("received:ip:" + netip.AddrFrom4([4]byte{b[0], b[1], 0, 0}).String())
		}
		return
	}
	if last := name[strings.LastIndexByte(name, '.')+1:]; last == "" || last[0] >= '0' && last[0] <= '9' {
		return // a version number such as 8.9.3, not a host
	}
	if r := registered(name); r != "" {
		t.add("received:" + r)
	}
}

// consistencyTokens say whether the envelope sender kept in Return-Path
// belongs to the From domain, and whether the Date is well formed with a
// real zone: a mailing list or a newsletter sends from its own domain with
// a proper Date, while spamware forges both.
func consistencyTokens(t *tokens, h *engine.Header) {
	from, _ := h.Addresses("From")
	rp := strings.TrimSpace(h.Raw("Return-Path"))
	switch {
	case rp == "" || len(from) == 0:
	case rp == "<>":
		t.add("return-path:null")
	case registered(engine.DomainOf(rp)) == registered(engine.DomainOf(from[0].Address)):
		t.add("return-path:from-domain")
	default:
		t.add("return-path:other-domain")
	}
	if d := h.Raw("Date"); d != "" {
		if tm, err := mail.ParseDate(d); err != nil {
			t.add("date:invalid")
		} else if _, off := tm.Zone(); off%900 != 0 || off > 14*3600 || off < -12*3600 {
			t.add("date:odd-zone")
		}
	}
}

// registered returns the registered domain (eTLD+1) of a host name, ""
// when it has none.
func registered(host string) string {
	if host == "" || strings.IndexByte(host, '.') < 0 {
		return ""
	}
	r, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return ""
	}
	return r
}

// mailerName reduces an X-Mailer or User-Agent value to its first words
// without version numbers: "Microsoft Outlook Express 6.00.2600.0000"
// becomes "microsoft outlook express".
func mailerName(v string) string {
	if v == "" {
		return "none"
	}
	var out []string
	for _, f := range strings.Fields(lowerASCII(v)) {
		if f == "" || f[0] >= '0' && f[0] <= '9' || f[0] == '(' || f[0] == '[' || f[0] == 'v' && len(f) > 1 && f[1] >= '0' && f[1] <= '9' {
			break
		}
		if i := strings.IndexByte(f, '/'); i > 0 {
			f = f[:i]
		}
		out = append(out, strings.Trim(f, ",;:-"))
		if len(out) == 3 {
			break
		}
	}
	if len(out) == 0 {
		return "other"
	}
	return strings.Join(out, " ")
}

func firstWord(v string) string {
	if f := strings.Fields(v); len(f) > 0 {
		return f[0]
	}
	return ""
}

// headerNameTokens emits one token per distinct header field name: mailing
// list software, MUAs and bulk senders each leave a recognisable set.
func headerNameTokens(t *tokens, h *engine.Header) {
	for _, f := range h.Fields {
		t.add("header:" + lowerASCII(f.Name))
	}
}

// mimeTokens describes the MIME structure: every Content-Type, charset and
// Content-Transfer-Encoding in the message, the header's and the parts'. It
// scans the raw lines instead of the parsed tree so that parts the MIME
// parser gave up on still count.
func mimeTokens(t *tokens, raw []byte) {
	parts := 0
	for len(raw) > 0 {
		line := nextLine(&raw)
		if len(line) < 13 || line[0] != 'C' && line[0] != 'c' {
			continue
		}
		isType := hasPrefixFold(line, "content-type:")
		if !isType && !hasPrefixFold(line, "content-transfer-encoding:") {
			continue
		}
		value := string(line[bytes.IndexByte(line, ':')+1:])
		for len(raw) > 0 && (raw[0] == ' ' || raw[0] == '\t') && len(value) < 1000 {
			value += " " + string(bytes.TrimSpace(nextLine(&raw)))
		}
		value = strings.TrimSpace(value)
		if !isType {
			t.add("cte:" + lowerASCII(value))
			continue
		}
		parts++
		mt, params, err := mime.ParseMediaType(value)
		if err != nil {
			t.add("ct:invalid")
			continue
		}
		t.add("ct:" + mt)
		if cs := params["charset"]; cs != "" {
			t.add("charset:" + lowerASCII(strings.Trim(cs, `"' `)))
		}
	}
	t.add("mime:parts:" + bucket(parts))
}

// nextLine cuts the first line off *raw, without its line end.
func nextLine(raw *[]byte) []byte {
	line := *raw
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line, *raw = line[:i], line[i+1:]
	} else {
		*raw = nil
	}
	return bytes.TrimSuffix(line, []byte{'\r'})
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && strings.EqualFold(string(b[:len(prefix)]), prefix)
}

// recipientTokens say whether the message names its recipient in To or Cc.
// Mail a person subscribed to (a newsletter, a shop's receipt, a
// colleague's note) is addressed to them; spam is sent in bulk with the
// recipient on the envelope only. The recipients are the envelope's when
// the message is being received, and otherwise those the final delivery
// recorded in Delivered-To and X-Original-To (a message read back from a
// mailbox for training). Nothing is said when neither is known.
func recipientTokens(t *tokens, h *engine.Header, rcpt []string) {
	if len(rcpt) == 0 {
		for _, name := range []string{"Delivered-To", "X-Original-To"} {
			for _, v := range h.Values(name) {
				if v = strings.Trim(strings.TrimSpace(v), "<>"); v != "" {
					rcpt = append(rcpt, v)
				}
			}
		}
	}
	if len(rcpt) == 0 {
		return
	}
	to, _ := h.Addresses("To")
	cc, _ := h.Addresses("Cc")
	for _, a := range append(to, cc...) {
		for _, r := range rcpt {
			if sameMailbox(a.Address, r) {
				t.add("to:recipient")
				return
			}
		}
	}
	t.add("to:not-recipient")
}

// sameMailbox reports whether two addresses name one mailbox: the same
// local part, at the same domain or at a host within the other's domain
// (a message for jo@example.org is often recorded as delivered to
// jo@mail.example.org or jo@localhost.example.org by the last hop).
func sameMailbox(a, b string) bool {
	ia, ib := strings.LastIndexByte(a, '@'), strings.LastIndexByte(b, '@')
	if ia <= 0 || ib <= 0 || !strings.EqualFold(a[:ia], b[:ib]) {
		return false
	}
	da, db := lowerASCII(a[ia+1:]), lowerASCII(b[ib+1:])
	return da == db || strings.HasSuffix(da, "."+db) || strings.HasSuffix(db, "."+da)
}
