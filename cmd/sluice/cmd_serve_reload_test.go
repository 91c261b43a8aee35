package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sluicemail/sluice/server/smtp"
)

func validRules(n int) string {
	return fmt.Sprintf(`pipeline: inbound
rules:
  - name: version
    when: conn.ip != ""
    headers: {X-Rules-Version: "good-%d"}
`, n)
}

// Broken versions: each also holds a rule that would refuse every message,
// so a broken version taking effect fails a transaction.
var brokenRules = []string{
	`pipeline: inbound
rules:
  - name: refuse-all
    when: conn.ip != ""
    action: reject 554 5.7.1 "broken version took effect"
  - name: bad-expression
    when: this is not ( an expression
`,
	`pipeline: inbound
rules:
  - name: refuse-all
    when: conn.ip != ""
    action: reject 554 5.7.1 "broken version took effect"
  - name: unknown-field
    when: envelope.no_such_field == "x"
`,
	"pipeline: inbound\nrules:\n  - name: refuse-all\n    when: conn.ip != \"\"\n    action: reject 554 5.7.1 \"broken\"\n  - {name: [unclosed\n",
}

// TestHotReloadUnderLoad rewrites the rule file many times, half of the
// versions broken, while clients send without pause: no transaction may
// fail, every delivered message carries the header of a good version, and
// the broken ones are counted as refused reloads.
func TestHotReloadUnderLoad(t *testing.T) {
	e := newE2E(t, validRules(0))
	ruleFile := filepath.Join(e.dir, "rules", "inbound.yaml")
	var sent, failed atomic.Int64
	var failures sync.Map
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, err := gosmtp.Dial(e.addr(smtp.MX))
				if err != nil {
					failed.Add(1)
					failures.Store(err.Error(), true)
					continue
				}
				for range 5 { // several transactions per connection
					msg := message("load@example.org", "alice@example.net", fmt.Sprintf("load %d", w))
					if err := c.SendMail("load@example.org", []string{"alice@example.net"}, strings.NewReader(msg)); err != nil {
						failed.Add(1)
						failures.Store(err.Error(), true)
					}
					sent.Add(1)
				}
				c.Quit()
			}
		}()
	}
	const versions = 30
	for i := 1; i <= versions; i++ {
		text := validRules(i)
		if i%2 == 1 {
			text = brokenRules[i%len(brokenRules)]
		}
		if i%3 == 0 { // editors write in place or replace by rename
			os.WriteFile(ruleFile, []byte(text), 0o644)
		} else {
			tmp := ruleFile + ".tmp"
			os.WriteFile(tmp, []byte(text), 0o644)
			os.Rename(tmp, ruleFile)
		}
		e.in.reload() // what SIGHUP does; the file watcher reloads too
		time.Sleep(30 * time.Millisecond)
	}
	os.WriteFile(ruleFile, []byte(validRules(versions+2)), 0o644)
	if err := e.in.reload(); err != nil {
		t.Fatalf("final reload: %v", err)
	}
	close(stop)
	wg.Wait()
	if failed.Load() > 0 {
		failures.Range(func(k, _ any) bool { t.Errorf("failed transaction: %v", k); return true })
	}
	if sent.Load() < 20 {
		t.Errorf("only %d messages sent during the reloads", sent.Load())
	}
	if e.in.live.Failures() < versions/2 {
		t.Errorf("%d refused reloads, want at least %d", e.in.live.Failures(), versions/2)
	}
	// Every delivered message carries a good version's header.
	delivered := e.mailbox("alice@example.net", "INBOX", int(sent.Load()-failed.Load()))
	re := regexp.MustCompile(`X-Rules-Version: (\S+)`)
	seen := map[string]bool{}
	for _, m := range delivered {
		v := re.FindStringSubmatch(m)
		if v == nil || !strings.HasPrefix(v[1], "good-") {
			t.Fatalf("message without a good version header:\n%s", m)
		}
		seen[v[1]] = true
	}
	t.Logf("%d messages during %d rewrites (%d refused); versions seen: %d", sent.Load(), versions, e.in.live.Failures(), len(seen))
	// The metrics report the refused reloads.
	reg := prometheus.NewRegistry()
	reg.MustRegister(e.in.collectors()...)
	if n, err := testutil.GatherAndCount(reg, "sluice_rules_reload_errors_total"); err != nil || n != 1 {
		t.Fatalf("sluice_rules_reload_errors_total: %d series, %v", n, err)
	}
	want := fmt.Sprintf("# HELP sluice_rules_reload_errors_total Rule-set reloads refused (the running rules stayed).\n# TYPE sluice_rules_reload_errors_total counter\nsluice_rules_reload_errors_total %d\n", e.in.live.Failures())
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "sluice_rules_reload_errors_total"); err != nil {
		t.Error(err)
	}
}
