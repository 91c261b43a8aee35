package queue

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"
)

func TestHandler(t *testing.T) {
	// Deliveries fail and wait an hour: the state an operator steers.
	o := fastOpts(&recorder{fail: func(string) error { return syscall.ENOSPC }})
	o.Retry = []time.Duration{time.Hour}
	q := mustOpen(t, t.TempDir(), o)
	r := start(q)
	defer r.stop()
	a, _ := q.Put(context.Background(), env("u@local.test"), body(1))
	b, _ := q.Put(context.Background(), env("u@local.test"), body(2))
	waitFor(t, "deferral", func() bool { l := q.List(); return len(l) == 2 && l[0].Attempts == 1 && l[1].Attempts == 1 })
	srv := httptest.NewServer(Handler(q))
	defer srv.Close()

	post := func(path string) int {
		t.Helper()
		resp, err := http.Post(srv.URL+path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := post("/queue/" + a + "/delete"); c != 200 {
		t.Fatalf("delete: %d", c)
	}
	if c := post("/queue/" + a + "/delete"); c != 404 {
		t.Fatalf("second delete: %d", c)
	}
	if c := post("/queue/" + b + "/retry"); c != 200 {
		t.Fatalf("retry: %d", c)
	}
	resp, err := http.Get(srv.URL + "/queue")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list []Info
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != b || list[0].Pending[0] != "u@local.test" {
		t.Fatalf("GET /queue: %+v", list)
	}
	if c := post("/quarantine/0123/release"); c != 404 {
		t.Fatalf("release of nothing: %d", c)
	}
}
