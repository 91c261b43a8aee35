// Package spf is the stage that evaluates the Sender Policy Framework,
// RFC 7208, for the MAIL FROM identity (or the HELO identity when MAIL FROM
// is the null sender, RFC 7208 section 2.4), with blitiri.com.ar/go/spf
// resolving through the shared resolver. The library enforces the limits
// of section 4.6.4: 10 lookups that cost DNS queries, 2 void lookups. The
// stage adds what the library leaves out: the section 12 syntax check of
// every record fetched (syntax.go) and the exp= explanation of a fail with
// its macros (exp.go, sections 6.2 and 7).
package spf

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"time"

	"blitiri.com.ar/go/spf"
	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages"
)

// Namespace is the facts namespace of the stage.
const Namespace = "spf"

func init() {
	stages.Register(Namespace, func(s stages.Settings) (engine.Stage, error) {
		var set Settings
		if err := s.Decode(&set); err != nil {
			return nil, err
		}
		return New(set), nil
	})
}

// Settings configure the stage under `stages: {spf: ...}`.
type Settings struct {
	// VoidLookupLimit overrides the limit on lookups that return no
	// answer (RFC 7208 section 4.6.4 says 2 by default). 0 keeps 2.
	VoidLookupLimit uint `yaml:"void_lookup_limit"`
}

// Stage evaluates SPF. It holds no per-message state.
type Stage struct {
	set Settings
}

// New returns the stage.
func New(set Settings) *Stage { return &Stage{set: set} }

// Namespace implements engine.Stage.
func (s *Stage) Namespace() string { return Namespace }

// Phase implements engine.Stage: MAIL FROM is known at the MAIL command.
func (s *Stage) Phase() engine.Phase { return engine.PhaseMail }

// Run implements engine.Stage.
func (s *Stage) Run(ctx context.Context, in *engine.Input) error {
	env := in.Msg.Envelope
	f := &in.Facts.SPF
	*f = engine.SPFFacts{Identity: "mailfrom"}
	sender := env.MailFrom
	f.Domain = engine.DomainOf(sender)
	if sender == "" {
		// RFC 7208 section 2.4: for the null sender, check
		// postmaster@<HELO>.
		f.Identity = "helo"
		f.Domain = strings.TrimSuffix(strings.ToLower(env.HELO), ".")
		sender = "postmaster@" + f.Domain
	}
	if strings.HasPrefix(sender, "@") {
		sender = "postmaster" + sender // section 4.3: no local-part
	}
	ip := env.IP.Unmap()
	switch {
	case !ip.IsValid():
		f.Result, f.Explanation = "none", "no client IP address"
		return nil
	case f.Domain == "" || isAddressLiteral(f.Domain):
		// RFC 7208 section 2.3 and 4.3: no domain to check.
		f.Result, f.Explanation = "none", "no domain to check"
		return nil
	}
	opts := []spf.Option{spf.WithContext(ctx), spf.WithResolver(dnsAdapter{in.DNS})}
	if s.set.VoidLookupLimit > 0 {
		opts = append(opts, spf.OverrideVoidLookupLimit(s.set.VoidLookupLimit))
	}
	res, err := spf.CheckHostWithSender(net.IP(ip.AsSlice()), env.HELO, sender, opts...)
	f.Result = string(res)
	f.Explanation = explain(res, err)
	if res == spf.Fail {
		env := &macroEnv{ctx: ctx, dns: in.DNS, sender: sender, helo: env.HELO, ip: ip, now: time.Now()}
		if exp := explanation(env, f.Domain); exp != "" {
			f.Explanation = exp
		}
	}
	if res == spf.TempError && ctx.Err() != nil {
		f.Explanation = "timed out: " + ctx.Err().Error()
	}
	f.Explanation = printable(f.Explanation)
	return nil
}

// isAddressLiteral reports whether a HELO name is an address literal
// ("[192.0.2.1]") or a bare IP, which SPF cannot check.
func isAddressLiteral(d string) bool {
	if strings.HasPrefix(d, "[") {
		return true
	}
	_, err := netip.ParseAddr(d)
	return err == nil
}

// explain turns the library's reason into the explanation fact. Errors that
// report a match are reasons, not failures.
func explain(res spf.Result, err error) string {
	switch {
	case err == nil:
		return string(res)
	case errors.Is(err, spf.ErrNoResult):
		return "no SPF record"
	}
	return err.Error()
}

// maxExplanation bounds the explanation, which a rule may quote in an SMTP
// reply.
const maxExplanation = 400

// printable makes an explanation safe to quote in an SMTP reply or a
// header: it comes from the sender's DNS, so a byte outside printable
// ASCII (a CR or LF above all) becomes '?', and it is cut to a sane length.
func printable(s string) string {
	b := []byte(s)
	if len(b) > maxExplanation {
		b = b[:maxExplanation]
	}
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}

// Fail implements engine.Stage: a check that could not finish is temperror.
func (s *Stage) Fail(f *engine.Facts, err error) {
	f.SPF.Result = "temperror"
	f.SPF.Explanation = printable(err.Error())
}
