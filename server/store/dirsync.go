package store

import (
	"os"
	"sync"
)

// dirSyncer fsyncs directories with group commit: when many deliveries
// rename into the same directory at once, one fsync covers all the renames
// made before it started, instead of one fsync each.
type dirSyncer struct {
	mu   sync.Mutex
	dirs map[string]*dirSync
}

type dirSync struct {
	mu        sync.Mutex
	cond      *sync.Cond
	requested uint64 // renames that asked for a sync
	done      uint64 // renames covered by a finished sync
	running   bool
	err       error // result of the last sync
}

func (s *dirSyncer) get(dir string) *dirSync {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dirs == nil {
		s.dirs = map[string]*dirSync{}
	}
	d := s.dirs[dir]
	if d == nil {
		d = &dirSync{}
		d.cond = sync.NewCond(&d.mu)
		s.dirs[dir] = d
	}
	return d
}

// sync returns once an fsync of dir that started after the call began has
// finished, and that fsync's error.
func (s *dirSyncer) sync(dir string) error {
	d := s.get(dir)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.requested++
	mine := d.requested
	for {
		if d.done >= mine {
			return d.err
		}
		if !d.running {
			break
		}
		d.cond.Wait()
	}
	d.running = true
	target := d.requested
	d.mu.Unlock()
	err := fsyncDir(dir)
	d.mu.Lock()
	d.running = false
	d.done, d.err = target, err
	d.cond.Broadcast()
	return err
}

func fsyncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
