// Package sender is the stage of the "sender" namespace: whether the
// message's sender is someone a local recipient corresponds with
// (sender.known). The addresses a user has written to (mail submitted
// through the server) and the senders of mail the user rescued from Junk
// make up the user's book, kept in the data directory; the rule author
// decides what knowing a sender weighs.
package sender
