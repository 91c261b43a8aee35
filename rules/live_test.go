package rules

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicemail/sluice/engine"
)

// versioned returns a rule file whose two rules both stamp version n, so
// that a verdict mixing two versions is visible.
func versioned(n string) string {
	return `pipeline: inbound
rules:
  - name: first
    when: true
    headers: {X-Version-A: "` + n + `"}
  - name: second
    when: true
    headers: {X-Version-B: "` + n + `"}
`
}

const versionedTest = `tests:
  - name: both rules fire
    raw: |
      Subject: x

      body
    envelope: {ip: 192.0.2.1, from: a@example.net, to: [b@example.org]}
    expect: {action: accept, rules: [first, second]}
`

// atomicWrite saves a file the way editors do: write a temp file, rename.
func atomicWrite(t *testing.T, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func versionOf(t *testing.T, l *Live) string {
	t.Helper()
	v := eval(t, l.Current().Pipeline(Inbound), envAlice, plainMsg, engine.PhaseData)
	if len(v.Headers) != 2 {
		return ""
	}
	return v.Headers[0].Value
}

func waitVersion(t *testing.T, l *Live, want string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if versionOf(t, l) == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("version %q never took effect (running %q)", want, versionOf(t, l))
}

func TestWatchReloads(t *testing.T) {
	dir := writeDir(t, map[string]string{"inbound.yaml": versioned("1"), "inbound_test.yaml": versionedTest})
	l, err := NewLive(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go l.Watch(ctx, 50*time.Millisecond)
	time.Sleep(100 * time.Millisecond) // let the watcher start

	start := time.Now()
	atomicWrite(t, filepath.Join(dir, "inbound.yaml"), versioned("2"))
	waitVersion(t, l, "2")
	t.Logf("edit took effect after %v", time.Since(start))

	// A broken file is refused: the old rules keep working.
	atomicWrite(t, filepath.Join(dir, "inbound.yaml"), "pipeline: inbound\nrules:\n  - {name: bad, when: msg.nope, score: 1}\n")
	deadline := time.Now().Add(3 * time.Second)
	for l.Failures() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if l.Failures() == 0 || !strings.Contains(l.LastError(), "has no field nope") {
		t.Fatalf("broken file not refused: failures %d, last error %q", l.Failures(), l.LastError())
	}
	if got := versionOf(t, l); got != "2" {
		t.Fatalf("running version %q after a broken edit, want 2", got)
	}

	// A set whose tests fail is refused too.
	failing := strings.Replace(versioned("3"), "when: true\n    headers: {X-Version-B", "when: false\n    headers: {X-Version-B", 1)
	before := l.Failures()
	if err := os.WriteFile(filepath.Join(dir, "inbound.yaml"), []byte(failing), 0o644); err != nil {
		t.Fatal(err)
	}
	for l.Failures() == before && time.Now().Before(deadline.Add(3*time.Second)) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(l.LastError(), "rule tests failed") || versionOf(t, l) != "2" {
		t.Fatalf("failing tests not refused: %q, version %q", l.LastError(), versionOf(t, l))
	}

	// Fixing the file brings the new version in.
	atomicWrite(t, filepath.Join(dir, "inbound.yaml"), versioned("4"))
	waitVersion(t, l, "4")
}

// TestReloadUnderLoad evaluates continuously while reloading; every verdict
// must come from one version, never half old and half new.
func TestReloadUnderLoad(t *testing.T) {
	dir := writeDir(t, map[string]string{"inbound.yaml": versioned("0")})
	l, err := NewLive(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var evals atomic.Int64
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				p := l.Current().Pipeline(Inbound)
				v := p.Begin(engine.NewMessage(envAlice, []byte(plainMsg))).Evaluate(context.Background(), engine.PhaseData)
				if len(v.Headers) != 2 || v.Headers[0].Value != v.Headers[1].Value {
					t.Errorf("mixed verdict %+v", v.Headers)
					return
				}
				evals.Add(1)
			}
		}()
	}
	for i := 1; i <= 30; i++ {
		content := versioned(strings.Repeat("v", i))
		if i%3 == 0 {
			content = "pipeline: inbound\nrules: [{name: x, when: 'msg.size == \"big\"', score: 1}]\n"
		}
		if err := os.WriteFile(filepath.Join(dir, "inbound.yaml"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		err := l.Reload()
		if (i%3 == 0) != (err != nil) {
			t.Fatalf("reload %d: err %v", i, err)
		}
		// Let the evaluators run against this version before the next.
		seen := evals.Load()
		for deadline := time.Now().Add(time.Second); evals.Load() < seen+5 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	}
	stop.Store(true)
	wg.Wait()
	if l.Failures() != 10 || l.Reloads() != 20 || evals.Load() == 0 {
		t.Fatalf("failures %d reloads %d evals %d", l.Failures(), l.Reloads(), evals.Load())
	}
}
