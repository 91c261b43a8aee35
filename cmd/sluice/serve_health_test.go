package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicemail/sluice/server/auth"
	"github.com/sluicemail/sluice/server/config"
	"github.com/sluicemail/sluice/server/health"
	"github.com/sluicemail/sluice/stages/resolver"
	"github.com/sluicemail/sluice/stages/resolver/dnstest"
)

// newDNSE2E starts a server whose resolver asks the in-process DNS server
// srv (not a zone file), with a short health window.
func newDNSE2E(t *testing.T, srv *dnstest.Server, inbound string) *e2e {
	t.Helper()
	e := &e2e{t: t, dir: t.TempDir(), logs: &lockedBuffer{}}
	for name, text := range map[string]string{
		"rules/inbound.yaml": inbound, "rules/outbound.yaml": e2eOutbound,
		"sluice.yaml": fmt.Sprintf(`hostname: mx.example.net
domains: [example.net]
data: data
listen: {smtp: "127.0.0.1:0", admin: "127.0.0.1:0"}
rules: rules
dns: {servers: [%q], health_window: 2s}
`, srv.Addr),
	} {
		p := filepath.Join(e.dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Load(filepath.Join(e.dir, "sluice.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	accounts, err := auth.Open(cfg.Data)
	if err != nil {
		t.Fatal(err)
	}
	if err := accounts.AddUser("alice@example.net", "password1"); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if e.in, err = start(cfg, log); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.in.stop(5 * time.Second)
		if t.Failed() {
			t.Logf("server log:\n%s", e.logs.String())
		}
	})
	return e
}

// readyz returns /readyz's status code and report.
func (e *e2e) readyz() (int, health.Report) {
	e.t.Helper()
	resp, err := http.Get("http://" + e.bound("admin") + "/readyz")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var rep health.Report
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, rep
}

func (e *e2e) metrics() string {
	e.t.Helper()
	resp, err := http.Get("http://" + e.bound("admin") + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// waitFor polls cond until it holds or the window (and a margin for a
// loaded machine) has passed.
func waitWithin(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The DNS server going away shows within the health window: /readyz says
// 503 with the DNS reason, a WARN line is logged, the metrics count the
// failures, and the rules see dns.degraded (here: a tempfail). When the
// server returns, all of it clears within the window again.
func TestServeReadyzFollowsDNS(t *testing.T) {
	zone, err := resolver.ParseZone("$ORIGIN .\n$TTL 300\n. NS a.root.test.\nexample.org. TXT \"v=spf1 -all\"\n")
	if err != nil {
		t.Fatal(err)
	}
	srv := dnstest.StartServer(t, zone)
	e := newDNSE2E(t, srv, `pipeline: inbound
rules:
  - name: dns-down
    when: dns.degraded
    action: tempfail 451 4.4.3 "Sender checks unavailable, try again later"
`)
	const window = 2 * time.Second
	const margin = 3 * time.Second // scheduling on a loaded 2-core machine
	if code, rep := e.readyz(); code != 200 || !rep.OK {
		t.Fatalf("readyz at start: %d %+v", code, rep)
	}
	waitWithin(t, window, "a probe reaches the DNS server", func() bool { return srv.Queries() > 0 })
	if err := e.send("a@example.org", "alice@example.net", "before"); err != nil {
		t.Fatalf("mail while DNS works: %v", err)
	}

	srv.Stop()
	stopped := time.Now()
	waitWithin(t, window+margin, "readyz degraded", func() bool { code, _ := e.readyz(); return code == 503 })
	t.Logf("readyz degraded %s after the DNS server stopped", time.Since(stopped).Round(time.Millisecond))
	_, rep := e.readyz()
	if len(rep.Failing) != 1 || rep.Failing[0].Name != "dns" || !strings.Contains(rep.Failing[0].Reason, "DNS exchanges failed") {
		t.Errorf("readyz report: %+v", rep)
	}
	waitWithin(t, window+margin, "WARN line", func() bool {
		return strings.Contains(e.logs.String(), `level=WARN msg="DNS resolver degraded`)
	})
	m := e.metrics()
	for _, want := range []string{"sluice_dns_degraded 1", `sluice_dns_failures_total{reason="network"}`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	err = e.send("a@example.org", "alice@example.net", "during")
	if err == nil || !strings.Contains(err.Error(), "451: Sender checks unavailable") {
		t.Errorf("mail while DNS is degraded: %v, want the dns.degraded tempfail", err)
	}

	srv.Restart(t)
	back := time.Now()
	waitWithin(t, window+margin, "readyz healthy again", func() bool { code, _ := e.readyz(); return code == 200 })
	t.Logf("readyz healthy %s after the DNS server returned", time.Since(back).Round(time.Millisecond))
	waitWithin(t, window+margin, "recovery logged", func() bool { return strings.Contains(e.logs.String(), "DNS resolver recovered") })
	if !strings.Contains(e.metrics(), "sluice_dns_degraded 0") {
		t.Error("sluice_dns_degraded is not 0 after recovery")
	}
	if err := e.send("a@example.org", "alice@example.net", "after"); err != nil {
		t.Errorf("mail after DNS returned: %v", err)
	}
}
