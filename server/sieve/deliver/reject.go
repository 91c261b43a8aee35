package deliver

import (
	"bytes"
	"fmt"
	"time"

	"github.com/sluicemail/sluice/server/sieve"
)

// reject answers a message the script refused after it was accepted
// (RFC 5429 section 2.1): a notice to the sender, from the null sender,
// with the reason and the original header. Nothing goes to the null
// sender, and a reply to an automatic message would feed a loop.
func (d *Deliverer) reject(user, sender string, msg *sieve.Message, reason string) {
	if sender == "" || msg.Header.Get("Auto-Submitted") != "" && msg.Header.Get("Auto-Submitted") != "no" {
		d.log().Info("sieve: rejected without notice", "user", user, "sender", sender)
		return
	}
	now := d.now()
	boundary := randomID()
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", d.Hostname)
	fmt.Fprintf(&b, "To: <%s>\r\n", sender)
	fmt.Fprintf(&b, "Subject: Rejected: %s\r\n", decodedSubject(msg))
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@%s>\r\n", randomID(), d.Hostname)
	b.WriteString("Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n")
	fmt.Fprintf(&b, "Content-Type: multipart/report; report-type=disposition-notification; boundary=\"%s\"\r\n\r\n", boundary)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n", boundary)
	fmt.Fprintf(&b, "Your message to <%s> was rejected by the recipient's filter:\r\n\r\n%s\r\n", user, crlf(reason))
	fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: message/disposition-notification\r\n\r\n", boundary)
	fmt.Fprintf(&b, "Reporting-UA: %s; sluice\r\nFinal-Recipient: rfc822; %s\r\n", d.Hostname, user)
	if id := msg.Header.Get("Message-ID"); id != "" {
		fmt.Fprintf(&b, "Original-Message-ID: %s\r\n", id)
	}
	b.WriteString("Disposition: automatic-action/MDN-sent-automatically; deleted\r\n")
	fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n", boundary)
	fields := msg.Header.Fields()
	for fields.Next() {
		fmt.Fprintf(&b, "%s: %s\r\n", fields.Key(), fields.Value())
	}
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	if err := d.send(sender, b.Bytes(), "sieve reject by "+user); err != nil {
		d.log().Warn("sieve: rejection notice not queued", "user", user, "err", err)
		return
	}
	d.log().Info("sieve: rejected", "user", user, "sender", sender)
}
