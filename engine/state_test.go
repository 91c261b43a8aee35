package engine

import (
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	good := map[string]Rate{
		"3/h": {3, time.Hour}, "100/1m": {100, time.Minute}, "500/2d": {500, 48 * time.Hour},
		"10/90s": {10, 90 * time.Second}, " 5 / 1h30m ": {5, 90 * time.Minute}, "0/h": {0, time.Hour},
	}
	for in, want := range good {
		if got, err := ParseRate(in); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "3", "3/", "/h", "-1/h", "3/x", "3/0s", "3/500ms", "x/h", "3/-1h", "3/0m", "1/99999999999d", "1/400d", "1/9000h"} {
		if r, err := ParseRate(in); err == nil {
			t.Errorf("ParseRate(%q) = %v, want an error", in, r)
		}
	}
}

// FuzzParseRate: any text gives a limit of a second or more, or an error.
func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"3/h", "100/1m", "500/2d", "10/90s", "5/1h30m", "/", "9999999999999999999/h", "1/99999999999d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRate(s)
		if err == nil && (r.Per < time.Second || r.Per > maxPeriod || r.Count < 0) {
			t.Fatalf("ParseRate(%q) = %v", s, r)
		}
	})
}
