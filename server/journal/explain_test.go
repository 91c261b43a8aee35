package journal

import (
	"strings"
	"testing"
	"time"
)

// A verdict and the shadow rules' disagreement about it, written as the
// server writes them, come back together from Explain and Lookup, and
// Story tells the DNS answer, the rule with file:line and the shadow's
// verdict.
func TestExplainAttachesShadow(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, Options{})
	live, other := sample("accept"), sample("junk")
	for _, r := range []*Record{live, other} {
		if err := j.Append(r, nil); err != nil {
			t.Fatal(err)
		}
	}
	sh := &Record{Kind: shadowKind, Of: live.ID, Action: live.Action,
		Shadow: &Shadow{RuleSet: "abc123", Action: "junk", Rules: []Rule{{Name: "stricter", Action: "junk"}}}}
	if err := j.Append(sh, nil); err != nil {
		t.Fatal(err)
	}
	j.Sync()

	recs, err := Explain(dir, Query{Key: live.ID}, nil)
	if err != nil || len(recs) != 1 || recs[0].Shadow == nil || recs[0].Shadow.Action != "junk" {
		t.Fatalf("Explain: %v %+v", err, recs)
	}
	got, ok, err := Lookup(dir, strings.ToLower(other.ID), nil)
	if err != nil || !ok || got.ID != other.ID || got.Shadow != nil {
		t.Fatalf("Lookup of the record without disagreement: %v %v %+v", ok, err, got)
	}
	got, ok, err = Lookup(dir, live.ID, nil)
	if err != nil || !ok || got.Shadow == nil {
		t.Fatalf("Lookup: %v %v %+v", ok, err, got)
	}
	for _, id := range []string{"", "NOTANID", sh.ID, NewID()} {
		if _, ok, err := Lookup(dir, id, nil); ok || err != nil {
			t.Errorf("Lookup(%q) found a verdict (%v)", id, err)
		}
	}

	var b strings.Builder
	Story(&b, got)
	for _, want := range []string{
		"Message " + live.ID, "7.2.0.192.zen.example. A: success 127.0.0.2 (ttl 300)",
		"spammy (rules/inbound.yml:12): score 5, junk", "Verdict: accept",
		"Shadow rules (abc123) would have said: junk by stricter",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("story lacks %q:\n%s", want, b.String())
		}
	}
}

// Lookup reads only the files near the ID's day: a record in a file of
// another day is not found by it (Explain, which reads all, finds it).
func TestLookupReadsNearDays(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Now().Add(-5 * 24 * time.Hour)}
	j := open(t, dir, Options{Now: c.now})
	r := sample("accept")
	r.ID = newID(time.Now())
	j.Append(r, nil)
	j.Sync()
	if _, ok, _ := Lookup(dir, r.ID, nil); ok {
		t.Fatal("Lookup read a file five days from the ID's time")
	}
	if recs, _ := Explain(dir, Query{Key: r.ID}, nil); len(recs) != 1 {
		t.Fatalf("Explain: %+v", recs)
	}
}
