package imap

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/sluicemail/sluice/server/store"
)

// Sort answers SORT and UID SORT (RFC 5256) with SORT=DISPLAY's keys
// (RFC 5957), from the index alone: dates, sizes and the envelope's
// addresses and subject. Ties keep mailbox order, as the RFC asks.
func (s *session) Sort(kind imapserver.NumKind, criteria *imap.SearchCriteria, keys []imapserver.SortCriterion) ([]uint32, error) {
	defer s.mbox.Busy()() // the store's background fill waits (store/lazy.go)
	found, err := s.matching(criteria)
	if err != nil {
		return nil, err
	}
	loadContent(found)
	// Items point at the targets: a target holds a whole store.Message,
	// and sorting 10,000 of them by value moved kilobytes a swap (and a
	// stable sort's rotations move more), 2-3x the time of the
	// comparisons. The sequence number breaks every tie, so the order is
	// total and an unstable sort gives the RFC's order.
	// The dates are taken once per message: read in each comparison,
	// the Date header's time.Time and its comparison were most of
	// SORT (DATE) of 10,000 (bench/imap).
	var dates, arrivals bool
	for _, k := range keys {
		dates = dates || k.Key == imapserver.SortKeyDate
		arrivals = arrivals || k.Key == imapserver.SortKeyArrival
	}
	items := make([]sortItem, len(found))
	for i := range found {
		it := sortItem{t: &found[i], k: found[i].msg.Keys()}
		if dates {
			it.sent = instantOf(sentDate(&it))
		}
		if arrivals {
			it.arrival = instantOf(it.t.msg.Date())
		}
		items[i] = it
	}
	slices.SortFunc(items, func(a, b sortItem) int {
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
	t             *target
	k             *store.Keys
	sent, arrival instant // set when a key sorts on them
}

// instant is a time as two integers, compared without time.Time's
// methods (UnixNano would not hold every year a Date header can name).
type instant struct {
	sec  int64
	nsec int
}

func instantOf(t time.Time) instant { return instant{t.Unix(), t.Nanosecond()} }

func (a instant) compare(b instant) int {
	if c := cmp.Compare(a.sec, b.sec); c != 0 {
		return c
	}
	return cmp.Compare(a.nsec, b.nsec)
}

func compareKey(k imapserver.SortKey, a, b *sortItem) int {
	switch k {
	case imapserver.SortKeyArrival:
		return a.arrival.compare(b.arrival)
	case imapserver.SortKeyDate:
		return a.sent.compare(b.sent)
	case imapserver.SortKeySize:
		return cmp.Compare(a.t.msg.Size(), b.t.msg.Size())
	case imapserver.SortKeySubject:
		return strings.Compare(a.k.BaseSubject, b.k.BaseSubject)
	case imapserver.SortKeyFrom:
		return strings.Compare(a.k.FromMailbox, b.k.FromMailbox)
	case imapserver.SortKeyTo:
		return strings.Compare(a.k.ToMailbox, b.k.ToMailbox)
	case imapserver.SortKeyCc:
		return strings.Compare(a.k.CcMailbox, b.k.CcMailbox)
	case imapserver.SortKeyDisplayFrom:
		return strings.Compare(a.k.DisplayFrom, b.k.DisplayFrom)
	case imapserver.SortKeyDisplayTo:
		return strings.Compare(a.k.DisplayTo, b.k.DisplayTo)
	}
	return 0
}

// sentDate is the Date header's time, or the internal date when the
// header is missing or unreadable (RFC 5256 section 3).
func sentDate(it *sortItem) time.Time {
	if t, ok := it.k.SentDate(); ok {
		return t
	}
	return it.t.msg.Date()
}
