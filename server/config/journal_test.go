package config

import (
	"strings"
	"testing"
	"time"
)

func TestJournalKeys(t *testing.T) {
	base := "domains: [a.example]\nhostname: mx.a.example\n"
	c, err := Parse([]byte(base+"journal: {max_age: 7d, max_size: 200MB, keep_bodies: 2MB}\n"), "t.yaml", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if j := c.Journal; time.Duration(j.MaxAge) != 7*24*time.Hour || j.MaxSize != 200<<20 || j.BodyLimit() != 2<<20 {
		t.Errorf("journal: %+v", j)
	}
	// keep_bodies: 0 turns the copies off; left out, the default holds.
	for _, w := range []struct {
		yaml string
		want int64
	}{{"journal: {keep_bodies: 0}\n", -1}, {"journal: {max_age: 7d}\n", 0}, {"", 0}, {"journal: {keep_bodies: 1KB}\n", 1 << 10}} {
		c, err := Parse([]byte(base+w.yaml), "t.yaml", t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Journal.BodyLimit(); got != w.want {
			t.Errorf("%q: body limit %d, want %d", w.yaml, got, w.want)
		}
	}
	_, err = Parse([]byte(base+"journal:\n  max_age: forever\n"), "t.yaml", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "forever") {
		t.Errorf("bad max_age: %v", err)
	}
}
