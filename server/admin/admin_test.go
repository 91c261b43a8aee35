package admin

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/sluicemail/sluice/server/health"
)

func get(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAdmin(t *testing.T) {
	var reloadErr, diskErr error
	reloads := 0
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_x_total", Help: "A test counter."})
	c.Add(3)
	s, err := Listen("127.0.0.1:0", Options{
		Collectors: []prometheus.Collector{c},
		Reload:     func() error { reloads++; return reloadErr },
		Ready: func() []health.Check {
			return []health.Check{{Name: "rules", Run: func() error { return nil }}, {Name: "disk", Run: func() error { return diskErr }}}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	base := "http://" + s.Addr.String()
	if code, body := get(t, "GET", base+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", code, body)
	}
	code, body := get(t, "GET", base+"/metrics")
	for _, want := range []string{"sluice_x_total 3", "go_goroutines ", "process_cpu_seconds_total "} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("metrics: %d, no %q in\n%s", code, want, body)
		}
	}
	if problems, err := promlint.New(strings.NewReader(body)).Lint(); err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %v", err, problems)
	}
	if code, body := get(t, "GET", base+"/readyz"); code != 200 || !strings.Contains(body, `"ok": true`) {
		t.Errorf("readyz healthy: %d %s", code, body)
	}
	diskErr = errors.New("12 MB free in /data, below the 100 MB headroom")
	code, body = get(t, "GET", base+"/readyz")
	var rep health.Report
	if err := json.Unmarshal([]byte(body), &rep); err != nil || code != 503 || rep.OK ||
		len(rep.Failing) != 1 || rep.Failing[0].Name != "disk" || !strings.Contains(rep.Failing[0].Reason, "12 MB") {
		t.Errorf("readyz degraded: %d %s (%v)", code, body, err)
	}
	if code, _ := get(t, "POST", base+"/reload"); code != 200 || reloads != 1 {
		t.Errorf("reload: %d, %d calls", code, reloads)
	}
	reloadErr = errors.New("rules/x.yaml:3: bad")
	if code, body := get(t, "POST", base+"/reload"); code != 422 || !strings.Contains(body, "x.yaml:3") {
		t.Errorf("failed reload: %d %q", code, body)
	}
	if code, _ := get(t, "GET", base+"/reload"); code != 405 {
		t.Errorf("GET /reload: %d", code)
	}
}
