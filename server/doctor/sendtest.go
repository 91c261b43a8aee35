package doctor

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Sender relays a message (relay.Client implements it).
type Sender interface {
	Send(ctx context.Context, from string, to []string, raw []byte) []error
}

// SendTest sends a signed test message from postmaster@<first domain> to
// address and reports the next hop's answer, and what to look for in the
// copy that arrives. sign may be nil (unsigned).
func SendTest(ctx context.Context, env *Env, s Sender, sign func([]byte) ([]byte, error), address string) Result {
	from := "postmaster@" + env.Domains[0]
	now := time.Now()
	id := fmt.Sprintf("%d.doctor@%s", now.UnixNano(), env.Hostname)
	raw := []byte(strings.Join([]string{
		"From: sluice doctor <" + from + ">",
		"To: <" + address + ">",
		"Subject: sluice doctor test from " + env.Hostname,
		"Date: " + now.Format(time.RFC1123Z),
		"Message-ID: <" + id + ">",
		"MIME-Version: 1.0",
		"Content-Type: text/plain; charset=us-ascii",
		"",
		"This message was sent by `sluice doctor --send-test` to check that mail",
		"from " + env.Domains[0] + " arrives and authenticates.",
		"",
	}, "\r\n"))
	signed := "unsigned"
	if sign != nil {
		if b, err := sign(raw); err == nil {
			raw, signed = b, "DKIM-signed"
		}
	}
	r := Result{Check: "send-test", Subject: address}
	if err := s.Send(ctx, from, []string{address}, raw)[0]; err != nil {
		r.Status, r.Detail = Fail, fmt.Sprintf("not accepted: %v", err)
		r.Fix = "read the reply: a block list, a missing PTR or an SPF failure is named there; run the other checks"
		return r
	}
	r.Status = OK
	r.Detail = fmt.Sprintf("the %s message <%s> was accepted by the next hop; in the copy that arrives, "+
		"its Authentication-Results header should say spf=pass, dkim=pass and dmarc=pass for %s "+
		"(if it lands in spam, the headers say why)", signed, id, env.Domains[0])
	return r
}
