package store

import (
	"crypto/sha256"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// train teaches the Trainer about messages that moved between from and
// to: into Junk is spam, out of Junk is ham. Moving from Junk to Trash is
// deleting spam, not a verdict of ham, and teaches nothing. Each message
// (by content digest) is learnt at most once per class; a message learnt
// as the other class is unlearnt from it first.
func (a *Account) train(from, to string, files []stored, dest *Mailbox) {
	t := a.s.opts.Trainer
	if from == to || (t == nil && a.s.opts.Rescued == nil) {
		return
	}
	var spam bool
	switch {
	case to == Junk:
		spam = true
	case from == Junk && to != Trash:
		spam = false
	default:
		return
	}
	// The first failure ends this move's training: a trainer whose store
	// does not answer (a shared Redis that hangs) costs its timeout per
	// call, and the IMAP client waits for the whole move, so a move of a
	// thousand messages would wait a thousand timeouts to learn nothing.
	failed, skipped := false, 0
	for _, f := range files {
		raw, _, err := readMessageFile(filepath.Join(dest.dir, f.sub, f.name))
		if err != nil {
			a.s.log.Warn("store: junk training: reading message", "user", a.user, "err", err)
			continue
		}
		if !spam && a.s.opts.Rescued != nil {
			a.s.opts.Rescued(a.user, raw)
		}
		if t == nil {
			continue
		}
		if failed {
			skipped++
			continue
		}
		if err := a.learn(t, raw, spam); err != nil {
			a.s.log.Warn("store: junk training", "user", a.user, "spam", spam, "err", err)
			failed = true
		}
	}
	if skipped > 0 {
		a.s.log.Warn("store: junk training: the rest of the move is not learnt", "user", a.user, "spam", spam, "skipped", skipped)
	}
	// A trainer that batches its writes saves once per move.
	if sv, ok := t.(interface{ Save() error }); ok {
		if err := sv.Save(); err != nil {
			a.s.log.Warn("store: junk training: saving the model", "user", a.user, "err", err)
		}
	}
}

// learn applies one verdict, recording it in the index.
func (a *Account) learn(t Trainer, raw []byte, spam bool) error {
	sum := sha256.Sum256(raw)
	class := byte('h')
	if spam {
		class = 's'
	}
	var prev byte
	a.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bLearned).Get(sum[:]); len(v) == 1 {
			prev = v[0]
		}
		return nil
	})
	if prev == class {
		return nil
	}
	if prev != 0 {
		if err := t.Unlearn(raw, prev == 's'); err != nil {
			return err
		}
	}
	if err := t.Learn(raw, spam); err != nil {
		return err
	}
	return a.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bLearned).Put(sum[:], []byte{class})
	})
}
