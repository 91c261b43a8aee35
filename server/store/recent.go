package store

// RFC 3501 section 2.3.2: a message is \Recent in exactly one session,
// the first to be told of it. The mailbox remembers the first UID no
// read-write session has claimed yet; a session that selects the
// mailbox, or polls it after a delivery, claims everything from there
// on. The mark lives in memory only: after a restart the messages the
// index already held are no longer recent (those found on disk that the
// index did not know yet still are).

// ClaimRecent makes the messages no session has claimed yet recent for
// the caller and returns the UIDs it claimed, from (inclusive) to to
// (exclusive); from == to when there were none.
func (m *Mailbox) ClaimRecent() (from, to uint32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	from, to = m.recentFrom, m.next
	if from < to {
		m.recentFrom = to
	}
	return from, max(from, to)
}

// RecentFrom returns the first UID not yet claimed by a session: the
// messages from there on count as recent for STATUS and EXAMINE.
func (m *Mailbox) RecentFrom() uint32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.recentFrom
}
