package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/miekg/dns"
	"github.com/sluicemail/sluice/server/mtasts"
	"github.com/sluicemail/sluice/server/tlsrpt"
	"github.com/sluicemail/sluice/stages/resolver"
)

// checkMTASTS: the _mta-sts record is there, the policy is fetched from
// mta-sts.<domain> over HTTPS with a valid certificate, its mode is the
// configured one and its patterns cover every MX.
func checkMTASTS(ctx context.Context, env *Env) []Result {
	if env.MTASTS == mtasts.None {
		return []Result{ok("", "no MTA-STS policy published (mta_sts.mode: none)")}
	}
	var out []Result
	f := mtasts.NewFetcher(mtasts.Options{Resolver: env.DNS, Roots: env.Roots, Port: env.STSPort, Timeout: env.Timeout})
	for _, d := range env.Domains {
		recFix := publish(fmt.Sprintf(`_mta-sts.%s IN TXT "v=STSv1; id=1"`, fqdn(d)),
			fmt.Sprintf("mta-sts.%s IN CNAME %s", fqdn(d), fqdn(env.Hostname))) + ", and set listen.https (and tls.acme for its certificate)"
		p, err := f.Policy(ctx, d)
		var fe *mtasts.FetchError
		switch {
		case errors.As(err, &fe):
			out = append(out, fail(d, fetchFix(fe, d), "the policy at %s cannot be had: %s: %v", f.URL(d), fe.Result, fe.Err))
			continue
		case err != nil:
			out = append(out, warn(d, "check your DNS servers answer", "%v", err))
			continue
		case p == nil:
			out = append(out, warn(d, recFix, "no _mta-sts record: senders cannot know they must use TLS"))
			continue
		}
		out = append(out, policyAgainstMX(ctx, env, d, p)...)
	}
	return out
}

func fetchFix(fe *mtasts.FetchError, d string) string {
	switch fe.Result {
	case mtasts.ResultWebPKI:
		return "the certificate of mta-sts." + d + " must be valid: set tls.acme (the name is included)"
	case mtasts.ResultInvalid:
		return "serve the policy sluice writes (listen.https), text/plain"
	}
	return "point mta-sts." + d + " at this host and set listen.https (port 443)"
}

func policyAgainstMX(ctx context.Context, env *Env, d string, p *mtasts.Policy) []Result {
	mx, _, err := resolver.LookupMX(ctx, env.DNS, d)
	if err != nil {
		return []Result{warn(d, "check your DNS servers answer", "MX lookup failed: %v", err)}
	}
	var uncovered []string
	for _, m := range mx {
		if m.Host != "." && !p.MatchMX(m.Host) {
			uncovered = append(uncovered, strings.TrimSuffix(m.Host, "."))
		}
	}
	switch {
	case len(uncovered) > 0 && p.Mode == mtasts.Enforce:
		return []Result{fail(d, "add the hosts to mta_sts.mx and change the _mta-sts id",
			"policy (enforce) does not cover MX %s: senders will refuse to deliver there", strings.Join(uncovered, ", "))}
	case len(uncovered) > 0:
		return []Result{warn(d, "add the hosts to mta_sts.mx and change the _mta-sts id",
			"policy (%s) does not cover MX %s", p.Mode, strings.Join(uncovered, ", "))}
	case env.MTASTS != "" && p.Mode != env.MTASTS:
		return []Result{warn(d, "change the _mta-sts id so senders fetch the policy again",
			"the policy senders fetch says %s, the config says %s (an old id?)", p.Mode, env.MTASTS)}
	case p.Mode == mtasts.Testing:
		return []Result{ok(d, "MTA-STS policy in testing mode covers every MX; set mta_sts.mode: enforce once TLS reports show no failures")}
	}
	return []Result{ok(d, "MTA-STS policy (%s) covers every MX", p.Mode)}
}

// checkTLSRPT: each domain asks for TLS reports.
func checkTLSRPT(ctx context.Context, env *Env) []Result {
	var out []Result
	for _, d := range env.Domains {
		fix := publish(fmt.Sprintf(`_smtp._tls.%s IN TXT "%s"`, fqdn(d), TLSRPTValue(d)))
		txts, _, err := resolver.LookupTXT(ctx, env.DNS, "_smtp._tls."+d)
		if err != nil {
			out = append(out, warn(d, "check your DNS servers answer", "lookup failed: %v", err))
			continue
		}
		rec, err := tlsrpt.PickRecord(txts)
		if err != nil {
			out = append(out, warn(d, fix, "no usable TLS-RPT record: you will not hear of senders' TLS failures (%v)", err))
			continue
		}
		out = append(out, ok(d, "TLS reports go to %s", rec.RUA[0]))
	}
	return out
}

// checkSRV: the RFC 6186 records point mail clients at our listeners.
func checkSRV(ctx context.Context, env *Env) []Result {
	var out []Result
	for _, d := range env.Domains {
		var missing []string
		for _, svc := range []string{"submissions", "submission", "imaps", "imap"} {
			addr := env.Listeners[svc]
			if addr == "" {
				continue
			}
			a, err := env.DNS.Query(ctx, "_"+svc+"._tcp."+d, dns.TypeSRV)
			if err != nil || !srvNames(a, env.Hostname) {
				missing = append(missing, fmt.Sprintf("_%s._tcp.%s IN SRV 0 1 %s %s", svc, fqdn(d), portText(addr), fqdn(env.Hostname)))
			}
		}
		if len(missing) > 0 {
			out = append(out, warn(d, publish(missing...), "%d client SRV records missing (mail clients then guess the settings)", len(missing)))
			continue
		}
		out = append(out, ok(d, "client SRV records point at %s", env.Hostname))
	}
	return out
}

func srvNames(a *resolver.Answer, host string) bool {
	for _, rr := range a.Records {
		if s, ok := rr.(*dns.SRV); ok && strings.EqualFold(strings.TrimSuffix(s.Target, "."), host) {
			return true
		}
	}
	return false
}
