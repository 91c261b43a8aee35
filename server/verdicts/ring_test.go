package verdicts

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestRing(t *testing.T) {
	r := NewRing(3)
	for i := range 5 {
		r.Add(Verdict{ID: fmt.Sprint(i), Action: []string{"accept", "reject"}[i%2], IP: fmt.Sprintf("192.0.2.%d", i), Subject: fmt.Sprintf("Hello %d", i)})
	}
	got := r.List(Filter{}, 10)
	if len(got) != 3 || got[0].ID != "4" || got[2].ID != "2" {
		t.Fatalf("newest first, 3 kept: %+v", got)
	}
	if got := r.List(Filter{Action: "reject"}, 10); len(got) != 1 || got[0].ID != "3" {
		t.Errorf("action filter: %+v", got)
	}
	if got := r.List(Filter{Query: "192.0.2.2"}, 10); len(got) != 1 || got[0].ID != "2" {
		t.Errorf("IP filter: %+v", got)
	}
	if got := r.List(Filter{Query: "HELLO"}, 2); len(got) != 2 {
		t.Errorf("limit: %+v", got)
	}
	if _, ok := r.Get("1"); ok {
		t.Error("an evicted verdict is still there")
	}
	if v, ok := r.Get("3"); !ok || v.Subject != "Hello 3" || v.Time.IsZero() {
		t.Errorf("Get: %+v %v", v, ok)
	}
}

func TestRingSubscribe(t *testing.T) {
	r := NewRing(10)
	ctx, cancel := context.WithCancel(context.Background())
	ch := r.Subscribe(ctx)
	r.Add(Verdict{Action: "junk"})
	select {
	case v := <-ch:
		if v.Action != "junk" || v.ID == "" {
			t.Errorf("got %+v", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no verdict")
	}
	cancel()
	for range ch { // closed once unsubscribed
	}
	r.Add(Verdict{Action: "accept"}) // no subscriber left: must not block
}
