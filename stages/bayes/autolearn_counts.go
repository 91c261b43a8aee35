package bayes

import "sync/atomic"

// AutolearnCounts say what an Autolearner did since the server started,
// for the server's metrics.
type AutolearnCounts struct {
	Spam, Ham  uint64 // messages learnt automatically, per class
	RolledBack uint64 // autolearns taken back because a user corrected them
}

// autoCounters are shared by the autolearners that replace one another
// on a reload of the rules, so that the counts only grow.
type autoCounters struct {
	spam, ham, rolledBack atomic.Uint64
}

func (c *autoCounters) learnt(class Class) {
	if class == Spam {
		c.spam.Add(1)
	} else {
		c.ham.Add(1)
	}
}

// Counts reports the autolearns and rollbacks so far.
func (a *Autolearner) Counts() AutolearnCounts {
	return AutolearnCounts{Spam: a.counts.spam.Load(), Ham: a.counts.ham.Load(), RolledBack: a.counts.rolledBack.Load()}
}
