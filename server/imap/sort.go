package imap

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// Sort answers SORT and UID SORT (RFC 5256) with SORT=DISPLAY's keys
// (RFC 5957), from the index alone: dates, sizes and the envelope's
// addresses and subject. Ties keep mailbox order, as the RFC asks.
func (s *session) Sort(kind imapserver.NumKind, criteria *imap.SearchCriteria, keys []imapserver.SortCriterion) ([]uint32, error) {
	found, err := s.matching(criteria)
	if err != nil {
		return nil, err
	}
	items := make([]sortItem, len(found))
	for i, t := range found {
		items[i] = sortItem{t: t, env: t.msg.Envelope()}
	}
	slices.SortStableFunc(items, func(a, b sortItem) int {
		for _, k := range keys {
			c := compareKey(k.Key, &a, &b)
			if k.Reverse {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return cmp.Compare(a.t.seq, b.t.seq)
	})
	out := make([]uint32, len(items))
	for i, it := range items {
		if kind == imapserver.NumKindUID {
			out[i] = it.t.msg.UID
		} else {
			out[i] = it.t.seq
		}
	}
	return out, nil
}

type sortItem struct {
	t   target
	env *imap.Envelope
}

func compareKey(k imapserver.SortKey, a, b *sortItem) int {
	switch k {
	case imapserver.SortKeyArrival:
		return a.t.msg.Date.Compare(b.t.msg.Date)
	case imapserver.SortKeyDate:
		return sentDate(a).Compare(sentDate(b))
	case imapserver.SortKeySize:
		return cmp.Compare(a.t.msg.Size, b.t.msg.Size)
	case imapserver.SortKeySubject:
		return strings.Compare(BaseSubject(a.env.Subject), BaseSubject(b.env.Subject))
	case imapserver.SortKeyFrom:
		return strings.Compare(firstMailbox(a.env.From), firstMailbox(b.env.From))
	case imapserver.SortKeyTo:
		return strings.Compare(firstMailbox(a.env.To), firstMailbox(b.env.To))
	case imapserver.SortKeyCc:
		return strings.Compare(firstMailbox(a.env.Cc), firstMailbox(b.env.Cc))
	case imapserver.SortKeyDisplayFrom:
		return strings.Compare(displayName(a.env.From), displayName(b.env.From))
	case imapserver.SortKeyDisplayTo:
		return strings.Compare(displayName(a.env.To), displayName(b.env.To))
	}
	return 0
}

// sentDate is the Date header's time, or the internal date when the
// header is missing or unreadable (RFC 5256 section 3).
func sentDate(it *sortItem) time.Time {
	if it.env.Date.IsZero() {
		return it.t.msg.Date
	}
	return it.env.Date
}

// firstAddress is the first entry of a list that is not a group's end:
// a group's start stands for the group, by its name, as in Dovecot.
func firstAddress(list []imap.Address) *imap.Address {
	for i := range list {
		if !list[i].IsGroupEnd() {
			return &list[i]
		}
	}
	return nil
}

// firstMailbox is the local part of the first address, case-folded
// (RFC 5256: "addr-mailbox", compared with i;ascii-casemap, which folds
// to upper case, so that "_" sorts after letters).
func firstMailbox(list []imap.Address) string {
	if a := firstAddress(list); a != nil {
		return strings.ToUpper(a.Mailbox)
	}
	return ""
}

// displayName is RFC 5957's sort string: the first address's display
// name, or its address when it has none, case-folded.
func displayName(list []imap.Address) string {
	a := firstAddress(list)
	switch {
	case a == nil:
		return ""
	case a.IsGroupStart():
		return strings.ToUpper(a.Mailbox)
	case a.Name != "":
		return strings.ToUpper(a.Name)
	}
	return strings.ToUpper(a.Mailbox + "@" + a.Host)
}
