package store

import (
	"errors"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watchDelay gathers a burst of file events into one rescan.
const watchDelay = 200 * time.Millisecond

// watcher notices files added, removed or renamed in open mailboxes by
// other programs (mutt on the server, a hand copy, `sluice import`) so
// that IDLE sessions hear of them within a second rather than at the next
// periodic rescan. Without inotify the periodic rescan still covers it.
type watcher struct {
	s *Store

	once sync.Once
	w    *fsnotify.Watcher

	mu    sync.Mutex
	boxes map[string]*Mailbox // watched new/ and cur/ directories
}

func (w *watcher) start() {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		w.s.log.Info("store: no file watching, relying on periodic rescans", "err", err)
		return
	}
	w.w = fw
	go w.loop()
}

func (w *watcher) add(m *Mailbox) {
	w.once.Do(w.start)
	if w.w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.boxes == nil {
		w.boxes = map[string]*Mailbox{}
	}
	for _, sub := range []string{"new", "cur"} {
		dir := filepath.Join(m.dir, sub)
		if err := w.w.Add(dir); err != nil {
			w.s.log.Debug("store: watching mailbox", "dir", dir, "err", err)
			continue
		}
		w.boxes[dir] = m
	}
}

func (w *watcher) remove(m *Mailbox) {
	if w.w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, sub := range []string{"new", "cur"} {
		dir := filepath.Join(m.dir, sub)
		if w.boxes[dir] == m {
			delete(w.boxes, dir)
			w.w.Remove(dir)
		}
	}
}

// pauseAfter is how many of its own renames the store makes in one
// mailbox (a STORE 1:* of flags) before it stops watching that mailbox
// until they are done. Each rename costs the kernel two inotify events and
// the watcher two reads: on 10,000 messages that was a fifth of STORE's
// time (bench/imap, run 7). Below it, pausing would cost more than the
// events. A variable for a test that pauses before the first rename.
var pauseAfter = 64

// afterPause, when set by a test, runs while a mailbox's watch is paused:
// what another program may do meanwhile.
var afterPause func(m *Mailbox)

// pause stops watching m's directories and reports whether it did (false
// without inotify, or for a mailbox no longer watched). The caller must
// resume.
func (w *watcher) pause(m *Mailbox) bool {
	if w.w == nil {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	paused := false
	for _, sub := range []string{"new", "cur"} {
		dir := filepath.Join(m.dir, sub)
		if w.boxes[dir] == m && w.w.Remove(dir) == nil {
			paused = true
		}
	}
	if paused && afterPause != nil {
		afterPause(m)
	}
	return paused
}

// resume watches m's directories again, unless m was closed meanwhile,
// and asks for one rescan: the changes another program made while the
// watch was paused gave no event, and the rescan lists the directories
// (the store's own renames moved their mtimes, so it cannot skip them).
func (w *watcher) resume(m *Mailbox) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, sub := range []string{"new", "cur"} {
		dir := filepath.Join(m.dir, sub)
		if w.boxes[dir] != m {
			continue
		}
		if err := w.w.Add(dir); err != nil {
			w.s.log.Debug("store: watching mailbox", "dir", dir, "err", err)
			delete(w.boxes, dir)
		}
	}
	m.changedOutside()
}

func (w *watcher) close() {
	if w.w != nil {
		w.w.Close()
	}
}

func (w *watcher) loop() {
	for {
		select {
		case ev, ok := <-w.w.Events:
			if !ok {
				return
			}
			w.mu.Lock()
			m := w.boxes[filepath.Dir(ev.Name)]
			w.mu.Unlock()
			if m != nil {
				m.changedOutside()
			}
		case err, ok := <-w.w.Errors:
			if !ok {
				return
			}
			w.failed(err)
		}
	}
}

// failed handles an error from inotify. On a queue overflow (more than
// fs.inotify.max_queued_events unread: a big MOVE, EXPUNGE or first fill
// beside other activity) events were lost, maybe another program's, so
// every watched mailbox is rescanned rather than left until its periodic
// rescan.
func (w *watcher) failed(err error) {
	if !errors.Is(err, fsnotify.ErrEventOverflow) {
		w.s.log.Debug("store: file watching", "err", err)
		return
	}
	w.mu.Lock()
	boxes := map[*Mailbox]bool{}
	for _, m := range w.boxes {
		boxes[m] = true
	}
	w.mu.Unlock()
	w.s.log.Info("store: file events lost (inotify queue overflow); rescanning the open mailboxes", "mailboxes", len(boxes))
	for m := range boxes {
		m.changedOutside()
	}
}

// changedOutside schedules one full rescan for a burst of file events.
func (m *Mailbox) changedOutside() {
	m.pendMu.Lock()
	defer m.pendMu.Unlock()
	if m.rescanSoon {
		return
	}
	m.rescanSoon = true
	time.AfterFunc(watchDelay, func() {
		m.pendMu.Lock()
		m.rescanSoon = false
		m.pendMu.Unlock()
		select {
		case m.rescan <- struct{}{}:
		default:
		}
	})
}
