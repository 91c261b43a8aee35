package main

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// importProgress is the progress line of `sluice import imap`: users,
// folders, messages, bytes, rate and ETA, summed over the users copied at
// the same time. Its methods are called from each user's goroutine. It
// draws only when on (stderr is a terminal), at most ten times a second.
type importProgress struct {
	mu         sync.Mutex
	w          io.Writer
	on         bool
	start      time.Time
	last       time.Time
	users      int
	usersDone  int
	folders    int
	msgs       int
	msgsTotal  int
	copied     int64
	bytesTotal int64
}

func newImportProgress(w io.Writer, users int, on bool) *importProgress {
	return &importProgress{w: w, on: on, users: users, start: time.Now()}
}

// folder counts a source folder about to be copied.
func (p *importProgress) folder(messages int, size int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.folders++
	p.msgsTotal += messages
	p.bytesTotal += size
}

// message counts a message looked at, with the bytes copied for it.
func (p *importProgress) message(copied int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs++
	p.copied += copied
	p.drawLocked(false)
}

// userDone counts a user whose import ended, complete or not.
func (p *importProgress) userDone() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.usersDone++
	p.drawLocked(false)
}

// finish draws the final state and ends the line.
func (p *importProgress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.on {
		p.drawLocked(true)
		fmt.Fprintln(p.w)
	}
}

// clear erases the line, so that other output can be written; the next
// message draws it again.
func (p *importProgress) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.on {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func (p *importProgress) drawLocked(force bool) {
	if !p.on || !force && time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, "\r%s ", p.lineLocked(time.Since(p.start)))
}

// lineLocked is the progress line after elapsed. The ETA follows the
// message rate; it grows as the folders of users not yet started are
// counted, so it is a floor until every user is under way.
func (p *importProgress) lineLocked(elapsed time.Duration) string {
	secs := elapsed.Seconds()
	rate, mbps := 0.0, 0.0
	if secs > 0 {
		rate = float64(p.msgs) / secs
		mbps = float64(p.copied) / (1 << 20) / secs
	}
	eta := "?"
	if rate > 0 {
		eta = time.Duration(float64(p.msgsTotal-p.msgs) / rate * float64(time.Second)).Round(time.Second).String()
	}
	return fmt.Sprintf("users %d/%d  folders %d  messages %d/%d  copied %s of %s  %.0f msg/s %.2f MB/s  ETA %s",
		p.usersDone, p.users, p.folders, p.msgs, p.msgsTotal, humanBytes(p.copied), humanBytes(p.bytesTotal), rate, mbps, eta)
}
