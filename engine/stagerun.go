package engine

import (
	"sort"
	"time"
)

// StageRun is one stage that ran for a transaction: how long it took and
// the error that made its facts temperror, for the verdict journal.
type StageRun struct {
	Name string
	Took time.Duration // including the stages it waited for
	Err  error
}

// StageRuns returns the stages that finished so far, sorted by name (the
// order of completion varies from run to run). Call it between Evaluate
// calls.
func (tx *Tx) StageRuns() []StageRun {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	out := make([]StageRun, 0, len(tx.runs))
	for name, r := range tx.runs {
		if r.finished {
			out = append(out, StageRun{Name: name, Took: r.took, Err: r.err})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
