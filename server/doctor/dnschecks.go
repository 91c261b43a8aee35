package doctor

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/sluicemail/sluice/stages/dkim"
	"github.com/sluicemail/sluice/stages/dmarc"
	"github.com/sluicemail/sluice/stages/resolver"
	"github.com/sluicemail/sluice/stages/spf"
)

// checkMX: each domain's MX points at the hostname (RFC 5321 section 5.1).
func checkMX(ctx context.Context, env *Env) []Result {
	var out []Result
	for _, d := range env.Domains {
		fix := publish(fmt.Sprintf("%s IN MX 10 %s", fqdn(d), fqdn(env.Hostname)))
		mx, _, err := resolver.LookupMX(ctx, env.DNS, d)
		var hosts []string
		for _, m := range mx {
			hosts = append(hosts, strings.TrimSuffix(m.Host, "."))
		}
		switch {
		case err != nil:
			out = append(out, warn(d, "check your DNS servers answer", "MX lookup failed: %v", err))
		case len(mx) == 0:
			out = append(out, fail(d, fix, "no MX record: other servers will look for mail at the domain's own address"))
		case resolver.IsNullMX(mx):
			out = append(out, fail(d, fix, "null MX (RFC 7505): the domain says it accepts no mail"))
		case !slices.Contains(hosts, strings.ToLower(env.Hostname)):
			out = append(out, fail(d, fix, "MX points at %s, not at this host %s", strings.Join(hosts, ", "), env.Hostname))
		case hosts[0] != strings.ToLower(env.Hostname):
			out = append(out, warn(d, "give "+env.Hostname+" the lowest preference", "MX prefers %s over this host", hosts[0]))
		default:
			out = append(out, ok(d, "MX %s", strings.Join(hosts, ", ")))
		}
	}
	return out
}

// checkAddress: the hostname resolves to each public address, and to no
// address that is not ours.
func checkAddress(ctx context.Context, env *Env) []Result {
	if len(env.IPs) == 0 {
		return []Result{warn(env.Hostname, "set public_ips: in the config", "no public addresses known to check against")}
	}
	addrs, _, err := resolver.LookupIP(ctx, env.DNS, env.Hostname)
	if err != nil && len(addrs) == 0 {
		return []Result{warn(env.Hostname, "check your DNS servers answer", "address lookup failed: %v", err)}
	}
	var out []Result
	for _, ip := range env.IPs {
		typ := map[bool]string{true: "A", false: "AAAA"}[ip.Is4()]
		if !slices.Contains(addrs, ip) {
			out = append(out, fail(env.Hostname, publish(fmt.Sprintf("%s IN %s %s", fqdn(env.Hostname), typ, ip)),
				"does not resolve to this server's address %s (it resolves to %s)", ip, list(addrs)))
			continue
		}
		if !ip.IsGlobalUnicast() || ip.IsPrivate() {
			out = append(out, warn(env.Hostname, "public_ips: should hold the addresses the Internet reaches", "resolves to %s, which is not a public address", ip))
			continue
		}
		out = append(out, ok(env.Hostname, "%s %s", typ, ip))
	}
	for _, a := range addrs {
		if !slices.Contains(env.IPs, a) {
			out = append(out, warn(env.Hostname, "remove the record, or add the address to public_ips if it is this server's",
				"also resolves to %s, which is not in public_ips", a))
		}
	}
	return out
}

// genericPTR matches reverse names that look assigned by an access
// provider: the address's digits, or pool words.
var genericPTR = regexp.MustCompile(`(?i)(\d{1,3}[-.]\d{1,3}[-.]\d{1,3}[-.]\d{1,3})|\b(dyn|dynamic|dhcp|pool|dsl|adsl|cable|dialup|ppp|client|host|ip)[-.\d]`)

// checkPTR: each address's PTR names the hostname, which resolves back
// to it (forward-confirmed reverse DNS, as receivers check it).
func checkPTR(ctx context.Context, env *Env) []Result {
	var out []Result
	for _, ip := range env.IPs {
		fix := fmt.Sprintf("ask your hosting provider to set the reverse DNS of %s to %s", ip, env.Hostname)
		names, _, err := resolver.LookupPTR(ctx, env.DNS, ip)
		if err != nil {
			out = append(out, warn(ip.String(), fix, "PTR lookup failed: %v", err))
			continue
		}
		if len(names) == 0 {
			out = append(out, fail(ip.String(), fix, "no reverse DNS: many receivers refuse mail from such addresses"))
			continue
		}
		name := strings.TrimSuffix(strings.ToLower(names[0]), ".")
		back, _, _ := resolver.LookupIP(ctx, env.DNS, name)
		switch {
		case name != strings.ToLower(env.Hostname):
			r := fail(ip.String(), fix, "reverse DNS is %s, not %s", name, env.Hostname)
			if genericPTR.MatchString(name) {
				r.Detail += " (and it looks like a generic access-provider name)"
			}
			out = append(out, r)
		case !slices.Contains(back, ip):
			out = append(out, fail(ip.String(), publish(fmt.Sprintf("%s IN A/AAAA %s", fqdn(name), ip)),
				"reverse DNS %s does not resolve back to %s", name, ip))
		case genericPTR.MatchString(name):
			out = append(out, warn(ip.String(), fix, "reverse DNS %s looks generic; receivers score such names as dial-up", name))
		default:
			out = append(out, ok(ip.String(), "PTR %s, which resolves back", name))
		}
	}
	return out
}

// checkSPF: each domain's SPF policy, evaluated as a receiver would
// (includes, redirects, limits), passes for each public address.
func checkSPF(ctx context.Context, env *Env) []Result {
	var out []Result
	for _, d := range env.Domains {
		fix := publish(fmt.Sprintf(`%s IN TXT "%s"`, fqdn(d), SPFValue(env.IPs)))
		if len(env.IPs) == 0 {
			out = append(out, warn(d, "set public_ips: in the config", "no public addresses to evaluate the SPF policy for"))
			continue
		}
		for _, ip := range env.IPs {
			res, err := spf.Check(ctx, env.DNS, ip, d)
			subject := d + " " + ip.String()
			switch res {
			case "pass":
				out = append(out, ok(subject, "SPF pass"))
			case "softfail", "neutral":
				out = append(out, warn(subject, fix, "SPF %s: receivers will not trust mail from this address", res))
			case "none":
				out = append(out, fail(subject, fix, "no SPF record"))
			case "temperror":
				out = append(out, warn(subject, "check your DNS servers answer", "SPF temperror: %v", err))
			default:
				out = append(out, fail(subject, fix, "SPF %s: %v", res, errText(err)))
			}
		}
	}
	return out
}

func errText(err error) string {
	if err == nil {
		return "this address is not authorised"
	}
	return err.Error()
}

// checkDKIM: each key's record is published and holds the key on disk.
func checkDKIM(ctx context.Context, env *Env) []Result {
	if len(env.DKIM) == 0 {
		return []Result{warn("", "run `sluice dkim keygen` and add the key under dkim: keys:", "no DKIM keys configured: mail goes out unsigned")}
	}
	var out []Result
	for _, k := range env.DKIM {
		subject := k.Selector + "._domainkey." + k.Domain
		want, err := dkim.RecordValue(k.Public)
		if err != nil {
			out = append(out, fail(subject, "use an RSA or Ed25519 key", "%v", err))
			continue
		}
		line, _ := dkim.TXTRecord(k.Domain, k.Selector, k.Public)
		txts, _, err := resolver.LookupTXT(ctx, env.DNS, subject)
		switch {
		case err != nil:
			out = append(out, warn(subject, "check your DNS servers answer", "lookup failed: %v", err))
		case len(txts) == 0:
			out = append(out, fail(subject, publish(line), "no DKIM record: receivers cannot verify the signatures"))
		case !slices.ContainsFunc(txts, func(t string) bool { return sameKey(t, want) }):
			out = append(out, fail(subject, publish(line)+" (replacing the old one)", "the published key is not the key on disk"))
		default:
			out = append(out, ok(subject, "the published key matches the key on disk (%s)", keyType(want)))
		}
	}
	return out
}

// sameKey compares the p= of two key records, spaces ignored.
func sameKey(published, want string) bool {
	return tagValue(published, "p") == tagValue(want, "p") && tagValue(published, "p") != ""
}

func tagValue(rec, tag string) string {
	for _, f := range strings.Split(rec, ";") {
		k, v, _ := strings.Cut(f, "=")
		if strings.TrimSpace(k) == tag {
			return strings.Join(strings.Fields(v), "")
		}
	}
	return ""
}

func keyType(rec string) string { return tagValue(rec, "k") }

// checkDMARC: the record parses (with our DMARC stage's parser) and what
// policy it gives.
func checkDMARC(ctx context.Context, env *Env) []Result {
	var out []Result
	for _, d := range env.Domains {
		fix := publish(fmt.Sprintf(`_dmarc.%s IN TXT "%s"`, fqdn(d), DMARCValue(d)))
		txts, _, err := resolver.LookupTXT(ctx, env.DNS, "_dmarc."+d)
		if err != nil {
			out = append(out, warn(d, "check your DNS servers answer", "lookup failed: %v", err))
			continue
		}
		var recs []string
		for _, t := range txts {
			if strings.HasPrefix(t, "v=DMARC1") {
				recs = append(recs, t)
			}
		}
		if len(recs) != 1 {
			out = append(out, fail(d, fix, "%d DMARC records (want exactly one): receivers apply none", len(recs)))
			continue
		}
		rec, err := dmarc.Parse(recs[0])
		if err != nil {
			out = append(out, fail(d, fix, "the DMARC record does not parse: %v", err))
			continue
		}
		switch rec.Policy {
		case "none":
			out = append(out, ok(d, "DMARC p=none: monitoring; move to p=quarantine, then p=reject, once the reports show only your mail"))
		default:
			out = append(out, ok(d, "DMARC p=%s", rec.Policy))
		}
	}
	return out
}

func list(addrs []netip.Addr) string {
	if len(addrs) == 0 {
		return "nothing"
	}
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}
