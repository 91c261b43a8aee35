package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestImportProgressLine: the line sums what the users' goroutines
// report, and its ETA follows the message rate.
func TestImportProgressLine(t *testing.T) {
	var buf bytes.Buffer
	p := newImportProgress(&buf, 3, true)
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.folder(10, 4<<20)
			for range 5 {
				p.message(256 << 10)
			}
			p.userDone()
		}()
	}
	wg.Wait()
	got := p.lineLocked(5 * time.Second)
	want := "users 3/3  folders 3  messages 15/30  copied 3.8 MB of 12.0 MB  3 msg/s 0.75 MB/s  ETA 5s"
	if got != want {
		t.Errorf("line = %q\nwant   %q", got, want)
	}
	p.finish()
	if !strings.HasSuffix(buf.String(), "\n") || !strings.Contains(buf.String(), "users 3/3") {
		t.Errorf("finish drew %q", buf.String())
	}
	var off bytes.Buffer
	q := newImportProgress(&off, 1, false)
	q.folder(1, 1)
	q.message(1)
	q.clear()
	q.finish()
	if off.Len() != 0 {
		t.Errorf("a progress that is off drew %q", off.String())
	}
}
