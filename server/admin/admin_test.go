package admin

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
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
	var reloadErr error
	reloads := 0
	s, err := Listen("127.0.0.1:0", Options{
		Metrics: []func(io.Writer){func(w io.Writer) { fmt.Fprintln(w, "sluice_x_total 3") }},
		Gauges:  map[string]func() float64{"sluice_queue_length": func() float64 { return 7 }},
		Reload:  func() error { reloads++; return reloadErr },
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
	if code != 200 || !strings.Contains(body, "sluice_x_total 3") || !strings.Contains(body, "sluice_queue_length 7") {
		t.Errorf("metrics: %d %q", code, body)
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
