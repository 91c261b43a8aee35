package imap

import (
	"github.com/sluicemail/sluice/server/store"
	"github.com/sluicemail/sluice/stages/bayes"
)

// JunkTrainer connects the Bayes model to the store's Junk moves: give
// it as store.Options.Trainer. The store calls Save once per move.
func JunkTrainer(m *bayes.Model) store.Trainer { return junkTrainer{m} }

type junkTrainer struct{ m *bayes.Model }

func (j junkTrainer) Learn(raw []byte, spam bool) error {
	class := bayes.Ham
	if spam {
		class = bayes.Spam
	}
	_, err := j.m.Learn(raw, class)
	return err
}

func (j junkTrainer) Unlearn(raw []byte, _ bool) error {
	_, err := j.m.Unlearn(raw)
	return err
}

func (j junkTrainer) Save() error { return j.m.Save() }
