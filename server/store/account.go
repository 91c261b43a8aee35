package store

// Account is one user's open mail: the index and the mailboxes in use over
// IMAP. Sessions of the same user share one Account.
type Account struct {
	s    *Store
	user string
}

func (a *Account) close() error { return nil }

// poke tells the account that mailbox changed on disk.
func (a *Account) poke(mailbox string) {}

// changed is called after the store itself changed a mailbox, so that
// IMAP sessions on it learn of the change at once.
func (s *Store) changed(user, mailbox string) {
	s.accMu.Lock()
	a := s.accounts[user]
	s.accMu.Unlock()
	if a != nil {
		a.poke(mailbox)
	}
}
