package bayes

import "time"

// Trainer teaches a Model from the owner's corrections: the mail store
// calls it when a message moves into Junk (spam) or out of it (ham). It
// implements the store's Trainer hook, which the server owns; `sluice
// serve` wires the two together at start, so that neither the store nor
// the IMAP server depends on this stage.
type Trainer struct {
	Model *Model
	Auto  *Autolearner // told of corrections, to roll back autolearns; nil: the model's, if any
}

// Learn counts raw as spam or ham. A move is a user's correction, so the
// model is trained until it would judge the message right (Model.Correct).
func (t Trainer) Learn(raw []byte, spam bool) error {
	class := Ham
	if spam {
		class = Spam
	}
	auto := t.Auto
	if auto == nil {
		auto = t.Model.Autolearner() // the stage's, as the rules now stand
	}
	if auto != nil {
		if _, err := auto.Corrected(raw, time.Now()); err != nil {
			return err
		}
	}
	_, err := t.Model.Correct(raw, class)
	return err
}

// Unlearn takes back an earlier Learn of raw.
func (t Trainer) Unlearn(raw []byte, _ bool) error {
	_, err := t.Model.Unlearn(raw)
	return err
}

// Save writes the model; the store calls it once per move.
func (t Trainer) Save() error { return t.Model.Save() }
