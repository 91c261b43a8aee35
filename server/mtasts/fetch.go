package mtasts

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluicemail/sluice/stages/resolver"
)

// The TLS-RPT result types of a failed fetch (RFC 8460 section 4.3.2.2).
const (
	ResultFetchError = "sts-policy-fetch-error" // no answer, HTTP error, DNS failure
	ResultInvalid    = "sts-policy-invalid"     // the file does not parse
	ResultWebPKI     = "sts-webpki-invalid"     // the HTTPS certificate does not validate
)

// FetchError is a policy that exists (its TXT record is published) but
// could not be had. Result is its TLS-RPT result type.
type FetchError struct {
	Domain string
	Result string
	Err    error
}

func (e *FetchError) Error() string {
	return fmt.Sprintf("mta-sts policy of %s: %s: %v", e.Domain, e.Result, e.Err)
}

func (e *FetchError) Unwrap() error { return e.Err }

// Options configure a Fetcher.
type Options struct {
	Resolver resolver.Resolver // for the _mta-sts TXT record; required
	// Roots validate the policy host's certificate; nil means the
	// system's. Tests inject their CA here.
	Roots *x509.CertPool
	// Port of the policy host; default 443. Tests use another.
	Port    int
	Timeout time.Duration    // for the whole fetch; default 30s
	Now     func() time.Time // default time.Now
}

// Fetcher gets and caches the policies of recipient domains (RFC 8461
// section 5). It is safe for concurrent use.
type Fetcher struct {
	opts   Options
	client *http.Client

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	id      string
	policy  *Policy
	expires time.Time
}

// NewFetcher returns a Fetcher.
func NewFetcher(opts Options) *Fetcher {
	if opts.Port == 0 {
		opts.Port = 443
	}
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = dialer(opts.Resolver)
	tr.TLSClientConfig = &tls.Config{RootCAs: opts.Roots, MinVersion: tls.VersionTLS12}
	client := &http.Client{
		Transport: tr,
		Timeout:   opts.Timeout,
		// Section 3.3: HTTP redirects MUST NOT be followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &Fetcher{opts: opts, client: client, cache: map[string]cached{}}
}

// Policy returns the policy of domain: nil and no error when the domain
// has none; a *FetchError when its record is published but the policy
// cannot be fetched and none is cached (the sender then delivers as if
// there were none, and reports the failure). A cached policy within its
// max_age serves while the record's id is unchanged, and also when the
// record or the fetch fails (section 5.1).
func (f *Fetcher) Policy(ctx context.Context, domain string) (*Policy, error) {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	c, hasCache := f.cached(domain)
	txts, status, err := resolver.LookupTXT(ctx, f.opts.Resolver, "_mta-sts."+domain)
	if err != nil {
		if hasCache {
			return c.policy, nil
		}
		return nil, &FetchError{domain, ResultFetchError, fmt.Errorf("_mta-sts TXT: %w", err)}
	}
	rec, rerr := PickRecord(txts)
	if status != resolver.Success || rerr != nil {
		if hasCache {
			return c.policy, nil
		}
		return nil, nil
	}
	if hasCache && c.id == rec.ID {
		return c.policy, nil
	}
	p, err := f.fetch(ctx, domain)
	if err != nil {
		if hasCache {
			return c.policy, nil
		}
		return nil, err
	}
	f.mu.Lock()
	f.cache[domain] = cached{id: rec.ID, policy: p, expires: f.opts.Now().Add(p.MaxAge)}
	f.mu.Unlock()
	return p, nil
}

func (f *Fetcher) cached(domain string) (cached, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.cache[domain]
	if ok && f.opts.Now().After(c.expires) {
		delete(f.cache, domain)
		return cached{}, false
	}
	return c, ok
}

// URL returns where the policy of domain is fetched.
func (f *Fetcher) URL(domain string) string {
	host := "mta-sts." + domain
	if f.opts.Port != 443 {
		host = net.JoinHostPort(host, strconv.Itoa(f.opts.Port))
	}
	return "https://" + host + "/.well-known/mta-sts.txt"
}

// fetch gets the policy file (section 3.3): 200 only, text/plain, no
// redirects, a validated certificate for mta-sts.<domain>.
func (f *Fetcher) fetch(ctx context.Context, domain string) (*Policy, error) {
	fail := func(result string, err error) error { return &FetchError{domain, result, err} }
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.URL(domain), nil)
	if err != nil {
		return nil, fail(ResultFetchError, err)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		if isCertError(err) {
			return nil, fail(ResultWebPKI, err)
		}
		return nil, fail(ResultFetchError, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fail(ResultFetchError, fmt.Errorf("HTTP %s", resp.Status))
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "text/plain" {
		return nil, fail(ResultInvalid, fmt.Errorf("content type %q, want text/plain", resp.Header.Get("Content-Type")))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPolicySize+1))
	if err != nil {
		return nil, fail(ResultFetchError, err)
	}
	p, err := ParsePolicy(string(body))
	if err != nil {
		return nil, fail(ResultInvalid, err)
	}
	return p, nil
}

func isCertError(err error) bool {
	var ve *tls.CertificateVerificationError
	var ue x509.UnknownAuthorityError
	var he x509.HostnameError
	var ie x509.CertificateInvalidError
	return errors.As(err, &ve) || errors.As(err, &ue) || errors.As(err, &he) || errors.As(err, &ie)
}

// dialer resolves host names through our resolver (so that zone files
// and the configured upstreams answer here too), trying each address.
func dialer(r resolver.Resolver) func(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		ips, _, lerr := resolver.LookupIP(ctx, r, host)
		if len(ips) == 0 {
			return nil, fmt.Errorf("%s has no address: %v", host, lerr)
		}
		var last error
		for _, ip := range ips {
			c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
			if err == nil {
				return c, nil
			}
			last = err
		}
		return nil, last
	}
}
