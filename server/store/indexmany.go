package store

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// indexFiles indexes new files (indexFile, or placeFile when lazy) with up
// to GOMAXPROCS workers: the first open of a Maildir of 10,000 messages
// read and parsed one file after another. The result is in the order of
// files, so UIDs and MODSEQs are given exactly as before, and nothing
// reaches the index until the caller commits them all in one transaction
// (a crash meanwhile leaves the files to be indexed again). A nil entry
// is a file that could not be indexed (errs holds why). Workers touch
// only the files, never the mailbox's state, which the caller's lock
// guards.
func (m *Mailbox) indexFiles(files []diskFile, lazy bool) (msgs []*Message, errs []error) {
	msgs, errs = make([]*Message, len(files)), make([]error, len(files))
	index := m.indexFile
	if lazy {
		index = m.placeFile
	}
	parallel(len(files), func(i int) { msgs[i], errs[i] = index(files[i]) })
	return msgs, errs
}

// parallel calls fn(0) ... fn(n-1) on up to GOMAXPROCS goroutines and
// returns when all have returned.
func parallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n/minFilesPerWorker)
	if workers < 2 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// minFilesPerWorker keeps a delivery of a few messages on the calling
// goroutine: a worker is only worth starting for a batch of files.
const minFilesPerWorker = 16
