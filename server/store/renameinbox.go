package store

import (
	"fmt"
)

// RenameInbox is RENAME INBOX (RFC 3501 section 6.3.5): every message
// of INBOX moves to the new mailbox to, which must not exist yet, and
// INBOX stays, empty; mailboxes under INBOX are unaffected. The messages
// move as the files they are (flags and keywords kept), each one on disk
// under to before INBOX forgets it, so a crash midway leaves every
// message in one mailbox or the other.
func (a *Account) RenameInbox(to string) error {
	dst, err := CleanName(to)
	if err != nil {
		return err
	}
	if dst == Inbox {
		return ErrInbox
	}
	if a.exists(dst) {
		return fmt.Errorf("%w: %s", ErrExists, dst)
	}
	if err := a.Create(dst); err != nil {
		return err
	}
	inbox, err := a.Mailbox(Inbox)
	if err != nil {
		return err
	}
	dest, err := a.Mailbox(dst)
	if err != nil {
		return err
	}
	var uids []uint32
	err = inbox.View(func(msgs []*Message) error {
		for _, m := range msgs {
			uids = append(uids, m.UID)
		}
		return nil
	})
	if err != nil || len(uids) == 0 {
		return err
	}
	_, _, err = inbox.Transfer(dest, uids, true)
	return err
}
