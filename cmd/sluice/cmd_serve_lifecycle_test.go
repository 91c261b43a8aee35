package main

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/sluicemail/sluice/server/auth"
	"github.com/sluicemail/sluice/server/config"
	"github.com/sluicemail/sluice/server/queue"
	"github.com/sluicemail/sluice/server/smtp"
	"github.com/sluicemail/sluice/stages/bayes"
)

// The mail that arrives over SMTP is read over IMAP with the same account.
func TestServeIMAPReadsDeliveredMail(t *testing.T) {
	e := newE2E(t, e2eInbound)
	if err := e.send("friend@example.org", "alice@example.net", "read me over IMAP"); err != nil {
		t.Fatal(err)
	}
	e.mailbox("alice@example.net", "INBOX", 1)
	c := e.dialIMAPS()
	if err := c.Login("alice@example.net", "wrong-password").Wait(); err == nil {
		t.Error("IMAP login with a wrong password succeeded")
	}
	if err := c.Login("alice@example.net", "password1").Wait(); err != nil {
		t.Fatalf("IMAP login: %v", err)
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages != 1 {
		t.Errorf("INBOX has %d messages over IMAP, want 1", sel.NumMessages)
	}
	// The session shows on the admin listener's /metrics.
	metrics := e.metrics()
	hasMetrics(t, metrics, `sluice_imap_commands_total{command="LOGIN",status="no"} 1`,
		`sluice_imap_commands_total{command="LOGIN",status="ok"} 1`, `sluice_imap_commands_total{command="SELECT",status="ok"} 1`,
		`sluice_imap_logins_total{result="failed"} 1`, `sluice_imap_logins_total{result="ok"} 1`, "sluice_imap_connections 1")
	lintMetrics(t, metrics)
	c.Logout().Wait()
	c.Close()
	waitWithin(t, 10*time.Second, "the session counted as ended", func() bool {
		return strings.Contains(e.metrics(), `sluice_imap_sessions_total{outcome="authenticated"} 1`)
	})
	hasMetrics(t, e.metrics(), "sluice_imap_connections 0")
}

// hasMetrics fails t for each line of a /metrics text that is missing.
func hasMetrics(t *testing.T, metrics string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(metrics, "\n"+w+"\n") {
			t.Errorf("/metrics lacks %q", w)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", metrics)
	}
}

// lintMetrics is promtool check metrics, as the client library does it.
func lintMetrics(t *testing.T, metrics string) {
	t.Helper()
	if problems, err := promlint.New(strings.NewReader(metrics)).Lint(); err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %v", err, problems)
	}
}

// The admin listener reports health and counters and reloads on POST.
func TestServeAdmin(t *testing.T) {
	e := newE2E(t, e2eInbound)
	if err := e.send("s@example.org", "alice@example.net", "BUY NOW"); err == nil {
		t.Fatal("content rule did not refuse")
	}
	base := "http://" + e.bound("admin")
	body := func(resp *http.Response, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Status + "\n" + string(b)
	}
	if got := body(http.Get(base + "/healthz")); !strings.HasPrefix(got, "200") {
		t.Errorf("healthz: %s", got)
	}
	metrics := body(http.Get(base + "/metrics"))
	for _, want := range []string{`sluice_smtp_transactions_total{listener="smtp",outcome="reject"} 1`, "sluice_rules_reload_errors_total 0", "sluice_queue_messages 0",
		`sluice_verdicts_total{action="reject",pipeline="inbound"} 1`, `sluice_rule_hits_total{pipeline="inbound",rule="buy-now"} 1`,
		`sluice_stage_duration_seconds_count{outcome="ok",stage="dnsbl"} 1`, `sluice_smtp_message_size_bytes_count 1`,
		"go_goroutines ", "process_cpu_seconds_total ", `sluice_rules_version_info{version="` + e.in.live.Current().Version() + `"} 1`,
		`sluice_smtp_replies_total{class="5xx",listener="smtp"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q:\n%s", want, metrics)
		}
	}
	// promtool check metrics, as the library does it.
	if problems, err := promlint.New(strings.NewReader(metrics[strings.Index(metrics, "\n")+1:])).Lint(); err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %v", err, problems)
	}
	if got := body(http.Get(base + "/readyz")); !strings.HasPrefix(got, "200") || !strings.Contains(got, `"name": "dns"`) {
		t.Errorf("readyz: %s", got)
	}
	if got := body(http.Post(base+"/reload", "text/plain", nil)); !strings.HasPrefix(got, "200") {
		t.Errorf("reload: %s", got)
	}

	// The queue API is mounted behind the console's login: refused
	// without credentials, served with a token of `sluice admin token`; a
	// quarantined message is listed, and releasing it delivers it as
	// addressed.
	for _, path := range []string{"/queue", "/quarantine", "/verdicts", "/events"} {
		if got := body(http.Get(base + path)); !strings.HasPrefix(got, "401") && !strings.HasPrefix(got, "200 OK\n<!doctype") {
			t.Errorf("GET %s without a session: %s", path, got)
		}
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Accept", "application/json")
		if got := body(http.DefaultClient.Do(req)); !strings.HasPrefix(got, "401") {
			t.Errorf("GET %s as JSON without a session: %s", path, got)
		}
	}
	if got := body(http.Post(base+"/quarantine/x/release", "text/plain", nil)); !strings.HasPrefix(got, "401") {
		t.Errorf("POST without a session: %s", got)
	}
	tok, err := auth.NewAdminToken(e.in.cfg.Data)
	if err != nil {
		t.Fatal(err)
	}
	withToken := func(method, url string) (*http.Response, error) {
		req, _ := http.NewRequest(method, url, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		return http.DefaultClient.Do(req)
	}
	if err := e.send("s@example.org", "alice@example.net", "HOLD this one"); err != nil {
		t.Fatal(err)
	}
	var held []queue.Held
	for deadline := time.Now().Add(5 * time.Second); len(held) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		got := body(withToken("GET", base+"/quarantine"))
		if !strings.HasPrefix(got, "200") {
			t.Fatalf("quarantine list: %s", got)
		}
		if err := json.Unmarshal([]byte(strings.SplitN(got, "\n", 2)[1]), &held); err != nil {
			t.Fatalf("quarantine list %q: %v", got, err)
		}
	}
	if len(held) != 1 {
		t.Fatalf("quarantine holds %d messages, want 1", len(held))
	}
	if got := body(withToken("POST", base+"/quarantine/"+held[0].ID+"/release")); !strings.HasPrefix(got, "200") {
		t.Fatalf("release: %s", got)
	}
	e.mailbox("alice@example.net", "INBOX", 1)
	if got := body(withToken("GET", base+"/queue")); !strings.HasPrefix(got, "200") || !strings.HasPrefix(strings.SplitN(got, "\n", 2)[1], "[") {
		t.Errorf("queue list: %s", got)
	}
}

// On shutdown the server stops accepting, lets a transaction in progress
// finish (its 250 means it is on disk), and cuts idle sessions at the
// bound.
func TestServeGracefulShutdown(t *testing.T) {
	e := newE2E(t, e2eInbound)
	conn, err := net.Dial("tcp", e.addr(smtp.MX))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	say := func(line string) string {
		if line != "" {
			conn.Write([]byte(line))
		}
		var all string
		for {
			l, err := r.ReadString('\n')
			all += l
			if err != nil || len(l) < 4 || l[3] != '-' {
				return all
			}
		}
	}
	say("")
	say("EHLO client.example.org\r\n")
	say("MAIL FROM:<late@example.org>\r\n")
	say("RCPT TO:<alice@example.net>\r\n")
	if got := say("DATA\r\n"); !strings.HasPrefix(got, "354") {
		t.Fatalf("DATA: %q", got)
	}
	stopped := make(chan struct{})
	go func() { e.in.stop(3 * time.Second); close(stopped) }()
	// New connections are refused once shutdown began.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", e.addr(smtp.MX), time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections after shutdown began")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := say("Subject: finished during shutdown\r\n\r\nstill here\r\n.\r\n"); !strings.HasPrefix(got, "250") {
		t.Errorf("transaction in progress at shutdown: %q", got)
	}
	// This client now idles: it is told so and the connection closes,
	// without waiting for the bound.
	if got, _ := r.ReadString('\n'); !strings.HasPrefix(got, "421 4.3.2 ") {
		t.Errorf("after its transaction, during shutdown: %q, want 421 4.3.2", got)
	}
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("stop did not return")
	}
	if _, err := r.ReadString('\n'); err == nil {
		t.Error("idle session still open after stop")
	}
	// The acknowledged message is in the Maildir or still in the spool.
	files, _ := filepath.Glob(filepath.Join(e.in.cfg.Data, "mail", "example.net", "alice", "new", "*"))
	q, err := queue.Open(queue.Dir(e.in.cfg.Data), queue.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if n := len(files) + len(q.List()); n != 1 {
		t.Errorf("acknowledged message: %d in the Maildir, %d in the spool", len(files), len(q.List()))
	}
}

// A second server on the same data directory refuses to start (the spool
// is locked) and leaves the first one's pid file alone.
func TestServeSecondInstanceRefused(t *testing.T) {
	e := newE2E(t, e2eInbound)
	pid := filepath.Join(e.in.cfg.Data, pidFile)
	before, err := os.ReadFile(pid)
	if err != nil {
		t.Fatal(err)
	}
	cfg := *e.in.cfg
	cfg.Listen = config.Listen{SMTP: "127.0.0.1:0"}
	if _, err := start(&cfg, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("a second server started on a locked data directory")
	} else if !strings.Contains(err.Error(), "in use") {
		t.Errorf("error: %v", err)
	}
	if after, _ := os.ReadFile(pid); string(after) != string(before) {
		t.Errorf("pid file changed: %q -> %q", before, after)
	}
}

// `sluice reload` posts to the admin listener and reports a refused rule
// set with its file and line; the running rules stay.
func TestReloadCommand(t *testing.T) {
	e := newE2E(t, e2eInbound)
	conf := filepath.Join(e.dir, "reload.yaml")
	os.WriteFile(conf, []byte(fmt.Sprintf("domains: [example.net]\ndata: data\nlisten: {admin: %q}\n", e.bound("admin"))), 0o644)
	ruleFile := filepath.Join(e.dir, "rules", "inbound.yaml")
	os.WriteFile(ruleFile, []byte("pipeline: inbound\nrules:\n  - name: broken\n    when: msg.no_such_field\n"), 0o644)
	var out, errOut strings.Builder
	if code := runReload([]string{"--config", conf}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "inbound.yaml:4") {
		t.Errorf("broken rules: exit %d, %q %q", code, out.String(), errOut.String())
	}
	// The running rules still refuse spam content.
	if err := e.send("s@example.org", "alice@example.net", "BUY NOW"); err == nil {
		t.Error("the broken set replaced the running one")
	}
	os.WriteFile(ruleFile, []byte(e2eInbound), 0o644)
	out.Reset()
	errOut.Reset()
	if code := runReload([]string{"--config", conf}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "rules reloaded") {
		t.Errorf("good rules: exit %d, %q %q", code, out.String(), errOut.String())
	}
}

// Moving a delivered message into Junk over IMAP teaches the server's Bayes
// model that it is spam; moving it back out makes it ham.
func TestServeJunkMoveTeachesBayes(t *testing.T) {
	e := newE2E(t, e2eInbound)
	if err := e.send("friend@example.org", "alice@example.net", "cheap watches for you"); err != nil {
		t.Fatal(err)
	}
	e.mailbox("alice@example.net", "INBOX", 1)
	c := e.dialIMAPS()
	if err := c.Login("alice@example.net", "password1").Wait(); err != nil {
		t.Fatalf("IMAP login: %v", err)
	}
	model, err := bayes.OpenModel(filepath.Join(e.in.cfg.Data, bayes.DefaultModelFile))
	if err != nil {
		t.Fatal(err)
	}
	move := func(from, to string) {
		t.Helper()
		if _, err := c.Select(from, nil).Wait(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Move(imap.SeqSetNum(1), to).Wait(); err != nil {
			t.Fatalf("MOVE %s -> %s: %v", from, to, err)
		}
	}
	stats := func() bayes.Stats {
		st, err := model.Stats()
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	move("INBOX", "Junk")
	if st := stats(); st.Spam != 1 || st.Ham != 0 {
		t.Fatalf("after moving into Junk: %+v, want one spam", st)
	}
	move("Junk", "INBOX")
	if st := stats(); st.Spam != 0 || st.Ham != 1 {
		t.Fatalf("after moving out of Junk: %+v, want one ham", st)
	}
}

// dialIMAPS connects to the server's implicit-TLS IMAP listener; the
// connection closes with the test.
func (e *e2e) dialIMAPS() *imapclient.Client {
	e.t.Helper()
	c, err := imapclient.DialTLS(e.bound("imaps"), &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}
