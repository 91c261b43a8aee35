package diskfree

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeFS is a file system whose free space the test sets.
type fakeFS struct {
	mu           sync.Mutex
	avail, total uint64
	err          error
}

func (f *fakeFS) stat(string) (uint64, uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.avail, f.total, f.err
}

func (f *fakeFS) set(avail uint64, err error) {
	f.mu.Lock()
	f.avail, f.err = avail, err
	f.mu.Unlock()
}

func TestMonitor(t *testing.T) {
	fs := &fakeFS{avail: 900 << 20, total: 1000 << 20}
	now := time.Unix(1e9, 0)
	var logs bytes.Buffer
	m := New(Options{Path: "/data", MinFree: 100 << 20, MinFreePercent: 20, Stat: fs.stat,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), Now: func() time.Time { return now }})
	step := func(d time.Duration) { now = now.Add(d) }
	warnings := func() int { return strings.Count(logs.String(), "level=WARN") }

	if m.Low() || m.Free() != 900<<20 {
		t.Fatalf("900 MB free of 1000: low=%v free=%d", m.Low(), m.Free())
	}
	fs.set(150<<20, nil) // above 100 MB but under 20 %
	if m.Low() {
		t.Fatal("a reading younger than Every was not reused")
	}
	step(time.Second)
	if !m.Low() || warnings() != 1 {
		t.Fatalf("150 MB of 1000 with a 20%% floor: low=%v, %d warnings", m.Low(), warnings())
	}
	for range 30 { // low for 30 s more: no new warning before a minute
		step(time.Second)
		m.Low()
	}
	if warnings() != 1 {
		t.Fatalf("%d warnings within a minute", warnings())
	}
	step(31 * time.Second)
	m.Low()
	if warnings() != 2 {
		t.Fatalf("%d warnings after a minute, want 2", warnings())
	}
	fs.set(0, errors.New("EIO"))
	step(time.Second)
	if !m.Low() {
		t.Fatal("a failed reading changed the state")
	}
	fs.set(500<<20, nil)
	step(time.Second)
	if m.Low() || !strings.Contains(logs.String(), "has room again") {
		t.Fatalf("500 MB free: low=%v\n%s", m.Low(), logs.String())
	}
}

func TestFloor(t *testing.T) {
	for _, tc := range []struct {
		o     Options
		total uint64
		want  uint64
	}{
		{Options{}, 1 << 30, 0},
		{Options{MinFree: 1 << 30}, 1 << 40, 1 << 30},
		{Options{MinFreePercent: 5}, 1000, 50},
		{Options{MinFree: 10, MinFreePercent: 5}, 1000, 50},
		{Options{MinFree: 100, MinFreePercent: 5}, 1000, 100},
	} {
		if got := tc.o.Floor(tc.total); got != tc.want {
			t.Errorf("%+v of %d: %d, want %d", tc.o, tc.total, got, tc.want)
		}
	}
}

// Statfs reads a real file system: the one of the test's directory has
// some room and is not larger than itself.
func TestStatfs(t *testing.T) {
	avail, total, err := Statfs(t.TempDir())
	if err != nil || total == 0 || avail > total {
		t.Fatalf("avail %d total %d err %v", avail, total, err)
	}
	if _, _, err := Statfs("/nonexistent/" + t.Name()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing path: %v", err)
	}
}
