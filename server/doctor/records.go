package doctor

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/sluicemail/sluice/stages/dkim"
	"github.com/sluicemail/sluice/stages/resolver"
)

// Setup describes a domain served by this host, for Records.
type Setup struct {
	Domain, Hostname string
	IPs              []netip.Addr
	DKIM             []DKIMKey
	STSID            string         // id of the _mta-sts record (changes with the policy)
	Ports            map[string]int // client services for the SRV records: submission, submissions, imap, imaps
	Web              bool           // mta-sts., autoconfig. and autodiscover. hosts are served here
}

// Record is one line to publish, with what it is for.
type Record struct {
	Comment string
	Line    string // RFC 1035 master-file line
}

// Records returns every record the domain needs for the checks to pass,
// in master-file form. PTR records are in it too, though the hosting
// provider publishes them.
func Records(s Setup) ([]Record, error) {
	d, h := fqdn(s.Domain), fqdn(s.Hostname)
	var out []Record
	add := func(comment, format string, args ...any) {
		out = append(out, Record{comment, fmt.Sprintf(format, args...)})
	}
	add("mail for the domain goes to this host", "%s 3600 IN MX 10 %s", d, h)
	for _, ip := range s.IPs {
		typ := "A"
		if ip.Is6() {
			typ = "AAAA"
		}
		add("the host's address", "%s 3600 IN %s %s", h, typ, ip)
		add("reverse DNS: ask your hosting provider to set it", "%s 3600 IN PTR %s", resolver.ReverseName(ip), h)
	}
	add("SPF: only this host sends for the domain", `%s 3600 IN TXT "%s"`, d, SPFValue(s.IPs))
	add("SPF for the host name (HELO)", `%s 3600 IN TXT "v=spf1 a -all"`, h)
	for _, k := range s.DKIM {
		line, err := dkim.TXTRecord(k.Domain, k.Selector, k.Public)
		if err != nil {
			return nil, err
		}
		add("DKIM key "+k.Selector, "%s", strings.Replace(line, " IN TXT ", " 3600 IN TXT ", 1))
	}
	add("DMARC: monitor first (p=none); move to quarantine, then reject, once reports show only your mail",
		`_dmarc.%s 3600 IN TXT "%s"`, d, DMARCValue(s.Domain))
	if s.Web {
		add("MTA-STS: the policy id (change it with the policy)", `_mta-sts.%s 3600 IN TXT "v=STSv1; id=%s"`, d, s.STSID)
		add("MTA-STS: the policy host, served by this server", "mta-sts.%s 3600 IN CNAME %s", d, h)
	}
	add("TLS reports (RFC 8460) about mail sent to you", `_smtp._tls.%s 3600 IN TXT "%s"`, d, TLSRPTValue(s.Domain))
	for _, svc := range []string{"submissions", "submission", "imaps", "imap"} {
		if p := s.Ports[svc]; p != 0 {
			add("mail client settings (RFC 6186)", "_%s._tcp.%s 3600 IN SRV 0 1 %d %s", svc, d, p, h)
		}
	}
	if s.Web {
		add("Thunderbird autoconfig", "autoconfig.%s 3600 IN CNAME %s", d, h)
		add("Outlook autodiscover", "autodiscover.%s 3600 IN CNAME %s", d, h)
	}
	return out, nil
}

// SPFValue is the SPF record for a domain sent from ips only.
func SPFValue(ips []netip.Addr) string {
	v := "v=spf1"
	for _, ip := range ips {
		if ip.Is4() {
			v += " ip4:" + ip.String()
		} else {
			v += " ip6:" + ip.String()
		}
	}
	if len(ips) == 0 {
		v += " mx"
	}
	return v + " -all"
}

// DMARCValue is the starting DMARC record: monitoring, reports to the
// postmaster.
func DMARCValue(domain string) string {
	return "v=DMARC1; p=none; rua=mailto:postmaster@" + domain
}

// TLSRPTValue asks for TLS reports to the postmaster.
func TLSRPTValue(domain string) string {
	return "v=TLSRPTv1; rua=mailto:postmaster@" + domain
}

func fqdn(s string) string { return strings.TrimSuffix(strings.ToLower(s), ".") + "." }
