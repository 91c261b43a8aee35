package main

import "github.com/sluicemail/sluice/stages/sender"

// sent records the recipients an authenticated user wrote to in the book
// the sender stage reads (sender.known).
func (in *instance) sent(user string, rcpts []string) {
	if err := in.book.Add(user, rcpts...); err != nil {
		in.log.Warn("recording the recipients a user wrote to", "user", user, "err", err)
	}
}

// rescued records the sender of a message the user moved out of Junk.
func (in *instance) rescued(user string, raw []byte) {
	from := sender.FromOf(raw)
	if from == "" {
		return
	}
	if err := in.book.Add(user, from); err != nil {
		in.log.Warn("recording the sender of mail rescued from Junk", "user", user, "err", err)
	}
}
