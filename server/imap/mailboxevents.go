package imap

import (
	"sync"
)

// mailboxEvent is a change to a user's list of mailboxes or subscriptions
// made over IMAP, which NOTIFY's MailboxName and SubscriptionChange
// events report to the user's other sessions (RFC 5465 sections 5.4,
// 5.5).
type mailboxEvent struct {
	kind    mailboxEventKind
	name    string // clean name (the new one for a rename)
	oldName string // for a rename
	own     bool   // made by the session that receives it: no LIST, only a re-watch
}

type mailboxEventKind int

const (
	mailboxCreated mailboxEventKind = iota
	mailboxDeleted
	mailboxRenamed
	mailboxSubscribed
	mailboxUnsubscribed
)

// maxQueuedEvents bounds what a session that never polls can hold; past
// it the session is told NOTIFICATIONOVERFLOW instead.
const maxQueuedEvents = 1000

// mailboxEvents hands each user's mailbox events to that user's sessions
// that asked for them. The store has no such events of its own: changes
// made by other programs (a shell, `sluice import`) are not seen here.
type mailboxEvents struct {
	mu   sync.Mutex
	subs map[string]map[*eventQueue]struct{} // by user
}

// eventQueue is one session's pending mailbox events.
type eventQueue struct {
	wake chan<- struct{} // signalled without blocking at each event

	mu       sync.Mutex
	events   []mailboxEvent
	overflow bool
}

func (h *mailboxEvents) subscribe(user string, wake chan<- struct{}) *eventQueue {
	q := &eventQueue{wake: wake}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs == nil {
		h.subs = map[string]map[*eventQueue]struct{}{}
	}
	if h.subs[user] == nil {
		h.subs[user] = map[*eventQueue]struct{}{}
	}
	h.subs[user][q] = struct{}{}
	return q
}

func (h *mailboxEvents) unsubscribe(user string, q *eventQueue) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs[user], q)
	if len(h.subs[user]) == 0 {
		delete(h.subs, user)
	}
}

// publish queues evs for every session of user. The session that made
// the change (source) gets them marked own: it knows of the change, but
// may have to watch a mailbox it created.
func (h *mailboxEvents) publish(user string, source *eventQueue, evs ...mailboxEvent) {
	if len(evs) == 0 {
		return
	}
	h.mu.Lock()
	var qs []*eventQueue
	for q := range h.subs[user] {
		qs = append(qs, q)
	}
	h.mu.Unlock()
	for _, q := range qs {
		q.mu.Lock()
		if len(q.events)+len(evs) > maxQueuedEvents {
			q.events, q.overflow = nil, true
		} else if !q.overflow {
			for _, ev := range evs {
				ev.own = q == source
				q.events = append(q.events, ev)
			}
		}
		q.mu.Unlock()
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// take returns and clears the queued events; overflow says some were lost.
func (q *eventQueue) take() (evs []mailboxEvent, overflow bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	evs, overflow = q.events, q.overflow
	q.events, q.overflow = nil, false
	return evs, overflow
}
