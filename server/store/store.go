// Package store keeps users' mail in Maildir++ under
// <data>/mail/<domain>/<localpart>/, the layout Dovecot uses: INBOX is the
// user directory's cur/, new/ and tmp/, and each other mailbox is a
// sub-directory named "." plus the mailbox name with "." as the hierarchy
// separator (.Sent, .Junk, .Parent.Child). Flags are in the file names
// (":2,FRS"). The IMAP index lives beside the Maildir and can be rebuilt
// from it.
package store

import "time"

// The special mailboxes every user has (RFC 6154 SPECIAL-USE).
const (
	Inbox   = "INBOX"
	Sent    = "Sent"
	Drafts  = "Drafts"
	Junk    = "Junk"
	Trash   = "Trash"
	Archive = "Archive"
)

// Deliverer is what the queue needs of the store: put one message into one
// mailbox of one local user, durably (file and directory fsynced) before
// returning nil. An error means nothing was stored; the queue keeps the
// message and retries.
type Deliverer interface {
	// Deliver stores raw in mailbox ("INBOX", "Junk", ...) of user (the
	// full address, lower-case), creating the mailbox if needed. flags are
	// Maildir info letters ("S" for seen; "" for new mail); date is the
	// internal date (zero means now).
	Deliver(user, mailbox string, raw []byte, flags string, date time.Time) error
}
