package dovecottest

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Message is what a mail client sees of one message.
type Message struct {
	UID   uint32
	Flags string // sorted, space-separated, without \Recent
	Date  time.Time
	Size  int64
}

// Mailbox is what a mail client sees of one mailbox.
type Mailbox struct {
	UIDValidity uint32
	Messages    []Message
}

// Snapshot lists every mailbox of an IMAP session with its messages'
// UIDs, flags, internal dates and sizes, so that two servers can be
// compared. rename maps a mailbox name before it is used as a key (the
// same folder may be "Sent Messages" on one side and "Sent" on the other).
func Snapshot(c *imapclient.Client, rename func(string) string) (map[string]Mailbox, error) {
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		return nil, fmt.Errorf("LIST: %w", err)
	}
	out := map[string]Mailbox{}
	for _, l := range list {
		if hasAttr(l.Attrs, imap.MailboxAttrNoSelect) {
			continue
		}
		sel, err := c.Select(l.Mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			return nil, fmt.Errorf("SELECT %s: %w", l.Mailbox, err)
		}
		mb := Mailbox{UIDValidity: sel.UIDValidity}
		if sel.NumMessages > 0 {
			var all imap.SeqSet
			all.AddRange(1, 0) // 1:*
			msgs, err := c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true, InternalDate: true, RFC822Size: true}).Collect()
			if err != nil {
				return nil, fmt.Errorf("FETCH %s: %w", l.Mailbox, err)
			}
			for _, m := range msgs {
				mb.Messages = append(mb.Messages, Message{UID: uint32(m.UID), Flags: flagString(m.Flags), Date: m.InternalDate.UTC(), Size: m.RFC822Size})
			}
		}
		sort.Slice(mb.Messages, func(i, j int) bool { return mb.Messages[i].UID < mb.Messages[j].UID })
		name := l.Mailbox
		if rename != nil {
			name = rename(name)
		}
		out[name] = mb
	}
	return out, nil
}

func hasAttr(attrs []imap.MailboxAttr, a imap.MailboxAttr) bool {
	for _, x := range attrs {
		if strings.EqualFold(string(x), string(a)) {
			return true
		}
	}
	return false
}

func flagString(flags []imap.Flag) string {
	var s []string
	for _, f := range flags {
		if !strings.EqualFold(string(f), `\Recent`) {
			s = append(s, string(f))
		}
	}
	sort.Strings(s)
	return strings.Join(s, " ")
}

// Append stores a message through c with flags and an internal date.
func Append(c *imapclient.Client, mailbox, raw string, date time.Time, flags ...imap.Flag) error {
	cmd := c.Append(mailbox, int64(len(raw)), &imap.AppendOptions{Flags: flags, Time: date})
	if _, err := cmd.Write([]byte(raw)); err != nil {
		return err
	}
	if err := cmd.Close(); err != nil {
		return err
	}
	_, err := cmd.Wait()
	return err
}
