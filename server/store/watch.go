package store

import (
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
		case _, ok := <-w.w.Errors:
			if !ok {
				return
			}
		}
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
