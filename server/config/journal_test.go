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
	if j := c.Journal; time.Duration(j.MaxAge) != 7*24*time.Hour || j.MaxSize != 200<<20 || j.KeepBodies != 2<<20 {
		t.Errorf("journal: %+v", j)
	}
	_, err = Parse([]byte(base+"journal:\n  max_age: forever\n"), "t.yaml", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "forever") {
		t.Errorf("bad max_age: %v", err)
	}
}
