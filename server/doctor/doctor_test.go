package doctor_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/sluicemail/sluice/server/certs/certstest"
	"github.com/sluicemail/sluice/server/doctor"
	"github.com/sluicemail/sluice/server/mtasts/ststest"
	"github.com/sluicemail/sluice/server/relay/relaytest"
	"github.com/sluicemail/sluice/stages/dkim"
	"github.com/sluicemail/sluice/stages/resolver"
	"github.com/sluicemail/sluice/stages/resolver/dnstest"
)

// world is everything a check looks at besides the DNS: a mail server
// with a certificate from the test CA that refuses to relay (as sluice
// does), our MTA-STS policy host, the client listeners.
type world struct {
	ca      *certstest.CA
	mx      *relaytest.Server
	sts     *ststest.Server
	clients map[string]string
	keys    []doctor.DKIMKey
}

func newWorld(t *testing.T, cert *tls.Certificate) *world {
	t.Helper()
	w := &world{ca: certstest.NewCA(t), clients: map[string]string{}}
	if cert == nil {
		c := w.ca.Leaf(time.Time{}, "mx.example.net")
		cert = &c
	}
	w.mx = relaytest.Start(t, relaytest.Options{TLS: true, Cert: cert})
	w.mx.Rcpt = func(to string) error {
		local, domain, _ := strings.Cut(strings.ToLower(to), "@")
		if domain != "example.net" || strings.ContainsAny(local, "%!@\"") {
			return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1}, Message: "relay denied"}
		}
		return nil
	}
	w.sts = ststest.Start(t, w.ca, "mta-sts.example.net")
	w.sts.Set("mta-sts.example.net", "version: STSv1\nmode: enforce\nmx: mx.example.net\nmax_age: 86400\n")
	for _, kind := range []string{"submissions", "imaps"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		w.clients[kind] = ln.Addr().String()
	}
	for _, sel := range []string{"ed", "rsa"} {
		k, err := dkim.LoadKey(filepath.Join("testdata", sel+".pem"))
		if err != nil {
			t.Fatal(err)
		}
		w.keys = append(w.keys, doctor.DKIMKey{Domain: "example.net", Selector: sel, Public: k.Public()})
	}
	return w
}

func (w *world) env(t *testing.T, zone string) *doctor.Env {
	t.Helper()
	z, err := resolver.ParseZone(zone)
	if err != nil {
		t.Fatal(err)
	}
	dns, err := resolver.NewClient(resolver.ClientOptions{Servers: []string{dnstest.Start(t, z)}})
	if err != nil {
		t.Fatal(err)
	}
	listeners := map[string]string{"smtp": w.mx.Addr}
	for k, v := range w.clients {
		listeners[k] = v
	}
	return &doctor.Env{
		Hostname: "mx.example.net", Domains: []string{"example.net"},
		IPs: []netip.Addr{netip.MustParseAddr("192.0.2.25"), netip.MustParseAddr("2001:db8::25")},
		DNS: dns, DKIM: w.keys, MTASTS: "enforce",
		SMTPAddr: w.mx.Addr, Listeners: listeners, Roots: w.ca.Pool(), STSPort: w.sts.Port,
		OutboundDomain: "probe.example", OutboundPort: w.mx.Port,
		DNSBLZones: []string{"bl.example"}, Timeout: 2 * time.Second,
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The correct domain: every check ok.
func TestGoodDomain(t *testing.T) {
	w := newWorld(t, nil)
	rs := doctor.Run(context.Background(), w.env(t, readFile(t, "testdata/good.zone")))
	var out bytes.Buffer
	doctor.Write(&out, rs)
	if doctor.Worst(rs) != doctor.OK {
		t.Fatalf("not all ok:\n%s", out.String())
	}
	for _, c := range doctor.Checks {
		if !strings.Contains(out.String(), "ok   "+c.Name) {
			t.Errorf("check %s gave no line:\n%s", c.Name, out.String())
		}
	}
	t.Logf("\n%s", out.String())
}

// fixture is a mistake: the good zone with some records dropped and
// others added, and the findings it must give.
type fixture struct {
	wants []want
	drops []string // "owner TYPE" prefixes
	add   string
}

type want struct{ line, fix string } // "fail spf example.net 192.0.2.25"

func parseFixture(t *testing.T, text string) fixture {
	var f fixture
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, "; want: "):
			f.wants = append(f.wants, want{line: strings.TrimPrefix(line, "; want: ")})
		case strings.HasPrefix(line, "; fix: "):
			f.wants[len(f.wants)-1].fix = strings.TrimPrefix(line, "; fix: ")
		case strings.HasPrefix(line, "; drop: "):
			f.drops = append(f.drops, strings.TrimPrefix(line, "; drop: "))
		case !strings.HasPrefix(line, ";"):
			f.add += line + "\n"
		}
	}
	if len(f.wants) == 0 {
		t.Fatal("fixture without a want line")
	}
	return f
}

func (f fixture) zone(good string) string {
	var b strings.Builder
	for _, line := range strings.Split(good, "\n") {
		fields := strings.Fields(line)
		dropped := false
		for _, d := range f.drops {
			owner, typ, _ := strings.Cut(d, " ")
			if len(fields) >= 2 && fields[0] == owner && (typ == "" || slices.Contains(fields[1:min(4, len(fields))], typ)) {
				dropped = true
			}
		}
		if !dropped {
			b.WriteString(line + "\n")
		}
	}
	return b.String() + f.add
}

// Each mistake gives the findings its fixture names, each with its fix,
// and nothing else goes wrong.
func TestMistakes(t *testing.T) {
	good := readFile(t, "testdata/good.zone")
	files, _ := filepath.Glob("testdata/mistakes/*.zone")
	if len(files) < 15 {
		t.Fatalf("%d fixtures", len(files))
	}
	w := newWorld(t, nil)
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".zone"), func(t *testing.T) {
			f := parseFixture(t, readFile(t, file))
			rs := doctor.Run(context.Background(), w.env(t, f.zone(good)))
			var out bytes.Buffer
			doctor.Write(&out, rs)
			matched := map[int]bool{}
			for _, wt := range f.wants {
				found := false
				for i, r := range rs {
					head := r.Status.String() + " " + r.Check + " " + r.Subject
					if strings.HasPrefix(head, wt.line) && strings.Contains(r.Fix, wt.fix) {
						found, matched[i] = true, true
					}
				}
				if !found {
					t.Errorf("no %q with fix %q in:\n%s", wt.line, wt.fix, out.String())
				}
			}
			for i, r := range rs {
				if r.Status != doctor.OK && !matched[i] {
					t.Errorf("unexpected finding: %s %s %s: %s", r.Status, r.Check, r.Subject, r.Detail)
				}
			}
		})
	}
}

// The server's certificate: self-signed, for another name, or expiring.
func TestCertificateMistakes(t *testing.T) {
	good := readFile(t, "testdata/good.zone")
	other := certstest.NewCA(t)
	ca := certstest.NewCA(t)
	for _, c := range []struct {
		name   string
		cert   func(ca *certstest.CA) tls.Certificate
		status doctor.Status
		detail string
	}{
		{"untrusted", func(*certstest.CA) tls.Certificate { return other.Leaf(time.Time{}, "mx.example.net") }, doctor.Fail, "does not reach a trusted root"},
		{"self-signed", func(*certstest.CA) tls.Certificate { return relaytest.Cert(t) }, doctor.Fail, "for mx.test, localhost"},
		{"expiring", func(ca *certstest.CA) tls.Certificate { return ca.Leaf(time.Now().Add(72*time.Hour), "mx.example.net") }, doctor.Warn, "expires in"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, nil)
			cert := c.cert(w.ca)
			w.mx = relaytest.Start(t, relaytest.Options{TLS: true, Cert: &cert})
			env := w.env(t, good)
			var got *doctor.Result
			for _, r := range doctor.Run(context.Background(), env) {
				if r.Check == "certificate" {
					got = &r
				}
			}
			if got == nil || got.Status != c.status || !strings.Contains(got.Detail, c.detail) || got.Fix == "" {
				t.Errorf("certificate: %+v", got)
			}
		})
	}
	_ = ca
}

// A server that takes anything is reported as an open relay; closed
// ports are failures.
func TestOpenRelayAndClosedPorts(t *testing.T) {
	w := newWorld(t, nil)
	w.mx.Rcpt = nil // accepts every recipient
	env := w.env(t, readFile(t, "testdata/good.zone"))
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	env.Listeners["http"] = closed
	_, port, _ := net.SplitHostPort(closed)
	env.OutboundPort = atoi(port)
	got := map[string]doctor.Result{}
	for _, r := range doctor.Run(context.Background(), env) {
		if r.Status != doctor.OK {
			got[r.Check] = r
		}
	}
	if r := got["open-relay"]; r.Status != doctor.Fail || !strings.Contains(r.Detail, "OPEN RELAY") || !strings.Contains(r.Detail, "plain-external") {
		t.Errorf("open relay: %+v", r)
	}
	if r := got["listeners"]; r.Status != doctor.Fail || r.Subject != "http" {
		t.Errorf("closed listener: %+v", r)
	}
	if r := got["outbound-25"]; r.Status != doctor.Fail || !strings.Contains(r.Fix, "relay.smarthost") {
		t.Errorf("outbound: %+v", r)
	}
	if len(got) != 3 {
		t.Errorf("findings %v", got)
	}
	b, _ := json.Marshal(got["listeners"])
	if !strings.Contains(string(b), `"status":"fail"`) || !strings.Contains(string(b), `"check":"listeners"`) {
		t.Errorf("JSON %s", b)
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// Records writes what makes the checks pass: a zone of them alone gives
// ok for every DNS check.
func TestRecordsPass(t *testing.T) {
	w := newWorld(t, nil)
	ips := []netip.Addr{netip.MustParseAddr("192.0.2.25"), netip.MustParseAddr("2001:db8::25")}
	recs, err := doctor.Records(doctor.Setup{Domain: "example.net", Hostname: "mx.example.net", IPs: ips, DKIM: w.keys,
		STSID: "1", Ports: map[string]int{"submissions": 465, "imaps": 993}, Web: true})
	if err != nil {
		t.Fatal(err)
	}
	var zone strings.Builder
	for _, r := range recs {
		zone.WriteString(r.Line + "\n")
	}
	// The policy host is served here, on loopback in the test.
	zone.WriteString("mx.example.net. A 127.0.0.1\n")
	env := w.env(t, strings.Replace(zone.String(), "mta-sts.example.net. 3600 IN CNAME mx.example.net.", "mta-sts.example.net. A 127.0.0.1", 1))
	env.IPs = ips
	for _, r := range doctor.Run(context.Background(), env) {
		switch r.Check {
		case "mx", "ptr", "spf", "dkim", "dmarc", "mta-sts", "tls-rpt", "srv":
			if r.Status != doctor.OK {
				t.Errorf("%s %s: %s %s", r.Check, r.Subject, r.Status, r.Detail)
			}
		}
	}
}
