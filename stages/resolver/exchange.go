package resolver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// resolve asks the servers in turn until one gives a definite answer or the
// attempts run out. The last temporary error is returned.
func (c *Client) resolve(ctx context.Context, k cacheKey) (*Answer, error) {
	q := new(dns.Msg)
	q.SetQuestion(k.name, k.qtype)
	q.RecursionDesired = true
	q.SetEdns0(c.opts.UDPSize, false)
	servers := c.opts.Servers
	first := int(c.next.Add(1))
	var lastErr error
	for attempt := 0; attempt <= c.opts.Retries; attempt++ {
		server := servers[(first+attempt)%len(servers)]
		a, err := c.attempt(ctx, q, server)
		if err == nil {
			return a, nil
		}
		lastErr = fmt.Errorf("%s %s: %w", k.name, dns.TypeToString[k.qtype], err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

// attempt is one exchange with one server: UDP, then TCP if the UDP answer
// was truncated (RFC 1035 section 4.2.1, RFC 7766), within one Timeout and
// one in-flight slot.
func (c *Client) attempt(ctx context.Context, q *dns.Msg, server string) (*Answer, error) {
	select {
	case c.sem <- struct{}{}:
		defer func() { <-c.sem }()
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: waiting for an in-flight slot: %v", ErrTimeout, ctx.Err())
	}
	c.stats.upstream.Add(1)
	actx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	q = q.Copy()
	q.Id = dns.Id()
	start := time.Now()
	resp, _, err := c.udp.ExchangeContext(actx, q, server)
	if err == nil && resp.Truncated {
		resp, _, err = c.tcp.ExchangeContext(actx, q, server)
	}
	if err != nil {
		err = classify(server, err)
		c.observe(q, server, start, nil, err)
		return nil, err
	}
	a, err := interpret(q, resp, server)
	c.observe(q, server, start, resp, err)
	return a, err
}

// classify turns a network error into ErrTimeout or ErrServFail.
func classify(server string, err error) error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("%w: %s: %v", ErrTimeout, server, err)
	}
	return fmt.Errorf("%w: %s: %v", ErrServFail, server, err)
}

// interpret reads a response: a definite answer for NOERROR and NXDOMAIN,
// ErrServFail for any other RCODE (SERVFAIL, REFUSED, FORMERR, NOTIMP) and
// for a response to another question.
func interpret(q, resp *dns.Msg, server string) (*Answer, error) {
	qq := q.Question[0]
	if len(resp.Question) != 1 || resp.Question[0].Qtype != qq.Qtype ||
		!strings.EqualFold(resp.Question[0].Name, qq.Name) {
		return nil, fmt.Errorf("%w: %s: response to another question", ErrServFail, server)
	}
	switch resp.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
	default:
		return nil, fmt.Errorf("%w: %s: %s", ErrServFail, server, dns.RcodeToString[resp.Rcode])
	}
	records, ttl := follow(qq.Name, qq.Qtype, resp.Answer)
	if len(records) > 0 {
		return &Answer{Status: Success, Records: records, TTL: ttl}, nil
	}
	a := &Answer{Status: NoData}
	if resp.Rcode == dns.RcodeNameError {
		a.Status = NXDomain
	}
	// RFC 2308 section 5: a negative answer is cached for the lesser of the
	// SOA's TTL and its MINIMUM; without an SOA it is not cached at all.
	for _, rr := range resp.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			a.TTL = negativeTTL(soa)
			break
		}
	}
	return a, nil
}

// follow collects the records of type qtype for qname from an answer
// section, following CNAMEs (at most 8). The TTL is the least of the records
// and of the CNAMEs that led to them.
func follow(qname string, qtype uint16, answer []dns.RR) ([]dns.RR, time.Duration) {
	owner := qname
	var out []dns.RR
	ttl := ^uint32(0)
	for hops := 0; hops <= 8; hops++ {
		next := ""
		for _, rr := range answer {
			h := rr.Header()
			if !strings.EqualFold(h.Name, owner) {
				continue
			}
			switch {
			case h.Rrtype == qtype:
				out = append(out, rr)
				ttl = min(ttl, h.Ttl)
			case h.Rrtype == dns.TypeCNAME && next == "":
				next = rr.(*dns.CNAME).Target
				ttl = min(ttl, h.Ttl)
			}
		}
		if len(out) > 0 || next == "" {
			break
		}
		owner = next
	}
	if len(out) == 0 {
		return nil, 0
	}
	return out, time.Duration(ttl) * time.Second
}
