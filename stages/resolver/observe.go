package resolver

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Attempt describes one attempt with an upstream server, for the metrics
// and the health of the resolver (ClientOptions.Observe).
type Attempt struct {
	Server   string
	Type     string        // the query type, e.g. "TXT"
	Rcode    string        // the response code, e.g. "NOERROR"; "" without a response
	Duration time.Duration // from sending to the answer or the failure
	// Reason is "" for a definite answer (NOERROR, NXDOMAIN); otherwise
	// why the attempt failed: timeout, network, mismatch, or the RCODE in
	// lower case (servfail, refused...).
	Reason string
	Err    error
}

// observe reports one attempt to the Observe hook.
func (c *Client) observe(q *dns.Msg, server string, start time.Time, resp *dns.Msg, err error) {
	if c.opts.Observe == nil {
		return
	}
	x := Attempt{Server: server, Type: dns.TypeToString[q.Question[0].Qtype], Duration: time.Since(start), Err: err}
	if resp != nil {
		x.Rcode = dns.RcodeToString[resp.Rcode]
	}
	switch {
	case err == nil:
	case errors.Is(err, ErrTimeout):
		x.Reason = "timeout"
	case resp == nil:
		x.Reason = "network"
	case resp.Rcode != dns.RcodeSuccess && resp.Rcode != dns.RcodeNameError:
		x.Reason = strings.ToLower(x.Rcode)
	default:
		x.Reason = "mismatch"
	}
	c.opts.Observe(x)
}

// Probe asks the servers for the root's NS records, bypassing the cache,
// so that a health check learns whether upstream DNS answers even while
// no mail comes in. Its attempts are observed like any other.
func (c *Client) Probe(ctx context.Context) error {
	_, err := c.resolve(ctx, cacheKey{name: ".", qtype: dns.TypeNS})
	return err
}
