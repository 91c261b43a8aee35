package deliver

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"net/mail"
	"strings"
	"time"

	"github.com/sluicemail/sluice/server/sieve"
)

// The rules of RFC 5230 section 4 and RFC 3834 section 2 that decide
// whether a vacation reply goes out, as Pigeonhole applies them.

// listHeaders mark mail from a mailing list (RFC 2369, RFC 2919).
var listHeaders = []string{"List-Id", "List-Help", "List-Subscribe", "List-Unsubscribe",
	"List-Post", "List-Owner", "List-Archive"}

// noReplyLocals are senders that are programs, never people.
var noReplyLocals = []string{"mailer-daemon", "listserv", "majordomo", "owner-*", "*-request", "noreply", "no-reply"}

// skipReason says why no vacation reply may answer msg from sender to
// user, or "" when one may.
func skipReason(msg *sieve.Message, sender, user string, v *sieve.Vacation) string {
	if sender == "" {
		return "null sender"
	}
	local := strings.ToLower(sender)
	if at := strings.LastIndexByte(local, '@'); at >= 0 {
		local = local[:at]
	}
	for _, p := range noReplyLocals {
		if matchLocal(p, local) {
			return "sender " + sender + " is a program"
		}
	}
	if strings.EqualFold(sender, user) {
		return "sender is the user"
	}
	h := msg.Header
	if as := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); as != "" && as != "no" {
		return "Auto-Submitted: " + as
	}
	for _, name := range listHeaders {
		if h.Has(name) {
			return "mailing list (" + name + ")"
		}
	}
	switch strings.ToLower(strings.TrimSpace(h.Get("Precedence"))) {
	case "bulk", "list", "junk":
		return "Precedence: " + h.Get("Precedence")
	}
	if h.Has("X-Auto-Response-Suppress") {
		return "X-Auto-Response-Suppress"
	}
	if !addressedTo(msg, append([]string{user}, v.Addresses...)) {
		return "the user is not among the message's recipients"
	}
	return ""
}

func matchLocal(pattern, local string) bool {
	switch {
	case strings.HasSuffix(pattern, "*"):
		return strings.HasPrefix(local, strings.TrimSuffix(pattern, "*"))
	case strings.HasPrefix(pattern, "*"):
		return strings.HasSuffix(local, strings.TrimPrefix(pattern, "*"))
	}
	return local == pattern
}

// addressedTo says whether one of mine is in the recipient headers
// (RFC 5230 section 4.5): mail that reached the user through a list or a
// Bcc they do not know of gets no reply.
func addressedTo(msg *sieve.Message, mine []string) bool {
	for _, field := range []string{"To", "Cc", "Bcc", "Resent-To", "Resent-Cc"} {
		for _, v := range msg.Header.Values(field) {
			list, err := mail.ParseAddressList(v)
			if err != nil {
				continue
			}
			for _, a := range list {
				for _, m := range mine {
					if strings.EqualFold(a.Address, m) || sameUser(a.Address, m) {
						return true
					}
				}
			}
		}
	}
	return false
}

// sameUser matches bob+tag@example.com to bob@example.com.
func sameUser(addr, user string) bool {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return false
	}
	local, domain := addr[:at], addr[at:]
	if i := strings.IndexByte(local, '+'); i >= 0 {
		return strings.EqualFold(local[:i]+domain, user)
	}
	return false
}

// composeReply writes the reply (RFC 5230 section 5, RFC 3834 section 3):
// to the sender, marked Auto-Submitted: auto-replied, threaded under the
// original.
func composeReply(msg *sieve.Message, v *sieve.Vacation, user, sender, hostname string, now time.Time) []byte {
	from := v.From
	if from == "" {
		from = user
	}
	subject := v.Subject
	if subject == "" {
		subject = "Auto: " + decodedSubject(msg)
	}
	var b bytes.Buffer
	hdr := func(k, val string) { fmt.Fprintf(&b, "%s: %s\r\n", k, val) }
	hdr("From", from)
	hdr("To", "<"+sender+">")
	hdr("Subject", mime.QEncoding.Encode("utf-8", subject))
	hdr("Date", now.Format(time.RFC1123Z))
	hdr("Message-ID", "<"+randomID()+"@"+hostname+">")
	if id := strings.TrimSpace(msg.Header.Get("Message-ID")); id != "" {
		hdr("In-Reply-To", id)
		refs := strings.TrimSpace(msg.Header.Get("References"))
		hdr("References", strings.TrimSpace(refs+" "+id))
	}
	hdr("Auto-Submitted", "auto-replied")
	hdr("Precedence", "bulk")
	hdr("MIME-Version", "1.0")
	if v.Mime {
		// :mime: the reason is a MIME entity, headers and all.
		b.WriteString(crlf(v.Reason))
		return b.Bytes()
	}
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "8bit")
	b.WriteString("\r\n")
	b.WriteString(crlf(v.Reason))
	if !strings.HasSuffix(v.Reason, "\n") {
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

func decodedSubject(msg *sieve.Message) string {
	s := msg.Header.Get("Subject")
	dec := new(mime.WordDecoder)
	if d, err := dec.DecodeHeader(s); err == nil {
		s = d
	}
	return strings.Join(strings.Fields(s), " ")
}

func crlf(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}

func randomID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
