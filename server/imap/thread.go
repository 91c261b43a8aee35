package imap

import (
	"bufio"
	"bytes"
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"
)

// Thread answers THREAD and UID THREAD (RFC 5256) with ORDEREDSUBJECT
// and REFERENCES, over the messages matching the search criteria.
func (s *session) Thread(kind imapserver.NumKind, alg imap.ThreadAlgorithm, criteria *imap.SearchCriteria) ([]imapserver.ThreadData, error) {
	defer s.mbox.Busy()() // the store's background fill waits (store/lazy.go)
	found, err := s.matching(criteria)
	if err != nil {
		return nil, err
	}
	msgs := make([]*threadMsg, len(found))
	for i, t := range found {
		k := t.msg.Keys()
		m := &threadMsg{num: t.seq, seq: t.seq, messageID: k.MessageID, subject: k.BaseSubject, reply: k.Reply}
		if kind == imapserver.NumKindUID {
			m.num = t.msg.UID
		}
		if date, ok := k.SentDate(); ok {
			m.date = date
		} else {
			m.date = t.msg.Date()
		}
		if alg == imap.ThreadReferences {
			m.refs = s.references(t)
		}
		msgs[i] = m
	}
	var roots []*node
	if alg == imap.ThreadOrderedSubject {
		roots = orderedSubject(msgs)
	} else {
		roots = references(msgs)
	}
	out := make([]imapserver.ThreadData, len(roots))
	for i, r := range roots {
		out[i] = threadData(r)
	}
	return out, nil
}

type threadMsg struct {
	num, seq  uint32
	date      time.Time
	subject   string
	reply     bool
	messageID string
	refs      []string // References, or else the first In-Reply-To
}

// node is a container of the REFERENCES algorithm; msg is nil for a
// dummy (a message referred to but not in the set).
type node struct {
	msg      *threadMsg
	parent   *node
	children []*node
}

// references reads the References header (the envelope does not keep
// it), falling back to In-Reply-To (RFC 5256 section 4, step 1).
func (s *session) references(t target) []string {
	raw, err := s.mbox.ReadMessage(t.msg.UID)
	if err == nil {
		if h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw))); err == nil {
			if ids := msgIDs(h.Get("References")); len(ids) > 0 {
				return ids
			}
		}
	}
	if irt := t.msg.Envelope().InReplyTo; len(irt) > 0 {
		return irt[:1]
	}
	return nil
}

// msgIDs extracts the "<...>" message IDs of a header value.
func msgIDs(v string) []string {
	var out []string
	for {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			return out
		}
		if id := strings.TrimSpace(v[i+1 : i+j]); id != "" && !strings.ContainsAny(id, " <") {
			out = append(out, id)
		}
		v = v[i+j+1:]
	}
}

// orderedSubject groups messages by base subject: each thread is its
// earliest message with the others as its children, threads ordered by
// that first message (RFC 5256 section 3).
func orderedSubject(msgs []*threadMsg) []*node {
	bySubject := map[string]*node{}
	var roots []*node
	sorted := slices.Clone(msgs)
	slices.SortStableFunc(sorted, byDate)
	for _, m := range sorted {
		if r := bySubject[m.subject]; r != nil {
			r.children = append(r.children, &node{msg: m, parent: r})
			continue
		}
		r := &node{msg: m}
		bySubject[m.subject] = r
		roots = append(roots, r)
	}
	return roots
}

func byDate(a, b *threadMsg) int {
	if c := a.date.Compare(b.date); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

// references is RFC 5256 section 4's algorithm.
func references(msgs []*threadMsg) []*node {
	byID := map[string]*node{}
	var all []*node
	get := func(id string) *node {
		n := byID[id]
		if n == nil {
			n = &node{}
			byID[id] = n
			all = append(all, n)
		}
		return n
	}
	for _, m := range msgs {
		// (1A) the message's container; a missing or repeated
		// Message-ID makes a container of its own.
		var n *node
		if m.messageID != "" && (byID[m.messageID] == nil || byID[m.messageID].msg == nil) {
			n = get(m.messageID)
		} else {
			n = &node{}
			all = append(all, n)
		}
		n.msg = m
		// (1B) link the references in order, parent to child, where
		// neither link exists yet and no loop forms.
		var prev *node
		for _, id := range m.refs {
			r := get(id)
			if prev != nil && r.parent == nil && r != prev && !isAncestor(r, prev) {
				link(prev, r)
			}
			prev = r
		}
		// (1C) the last reference is the message's parent, replacing
		// any parent it had.
		if prev != nil && (prev == n || isAncestor(n, prev)) {
			prev = nil
		}
		if n.parent != nil {
			unlink(n)
		}
		if prev != nil {
			link(prev, n)
		}
	}
	// (2) the root set, (4) pruned of empty dummies.
	var roots []*node
	for _, n := range all {
		if n.parent == nil {
			roots = append(roots, n)
		}
	}
	roots = prune(roots, true)
	for _, r := range roots {
		r.parent = nil
	}
	sortTree(roots)
	// (5) gather the root threads by base subject.
	roots = gatherBySubject(roots)
	sortTree(roots)
	return roots
}

func link(parent, child *node) {
	child.parent = parent
	parent.children = append(parent.children, child)
}

func unlink(n *node) {
	p := n.parent
	for i, c := range p.children {
		if c == n {
			p.children = append(p.children[:i:i], p.children[i+1:]...)
			break
		}
	}
	n.parent = nil
}

// isAncestor says whether a is an ancestor of n.
func isAncestor(a, n *node) bool {
	for p := n.parent; p != nil; p = p.parent {
		if p == a {
			return true
		}
	}
	return false
}

// prune drops dummies without children and lifts the children of other
// dummies into their place, except a root dummy with several children.
func prune(list []*node, root bool) []*node {
	var out []*node
	for _, n := range list {
		n.children = prune(n.children, false)
		for _, c := range n.children {
			c.parent = n
		}
		switch {
		case n.msg != nil:
			out = append(out, n)
		case len(n.children) == 0:
		case root && len(n.children) > 1:
			out = append(out, n)
		default:
			out = append(out, n.children...)
		}
	}
	return out
}

// firstMsg is the message a container sorts by: its own, or for a dummy
// that of its first child (children already sorted).
func firstMsg(n *node) *threadMsg {
	for n.msg == nil && len(n.children) > 0 {
		n = n.children[0]
	}
	return n.msg
}

// sortTree orders every level by sent date (then sequence number).
func sortTree(list []*node) {
	for _, n := range list {
		sortTree(n.children)
	}
	slices.SortStableFunc(list, func(a, b *node) int {
		ma, mb := firstMsg(a), firstMsg(b)
		if ma == nil || mb == nil {
			return 0
		}
		return byDate(ma, mb)
	})
}

// gatherBySubject merges root threads whose base subjects are equal
// (RFC 5256 section 4, step 5).
func gatherBySubject(roots []*node) []*node {
	table := map[string]*node{}
	subjectOf := func(n *node) (string, bool) {
		if n.msg != nil {
			return n.msg.subject, n.msg.reply
		}
		m := firstMsg(n)
		return m.subject, m.reply
	}
	for _, r := range roots {
		subj, reply := subjectOf(r)
		if subj == "" {
			continue
		}
		old := table[subj]
		if old == nil ||
			r.msg == nil && old.msg != nil ||
			old.msg != nil && old.msg.reply && r.msg != nil && !reply {
			table[subj] = r
		}
	}
	var out []*node
	// replace puts root in t's place in out, or appends it if t comes
	// later (t then has a parent and is skipped).
	replace := func(t, root *node) {
		for i, o := range out {
			if o == t {
				out[i] = root
				return
			}
		}
		out = append(out, root)
	}
	for _, r := range roots {
		if r.parent != nil {
			continue // merged into an earlier thread
		}
		subj, reply := subjectOf(r)
		t := table[subj]
		if subj == "" || t == nil || t == r {
			out = append(out, r)
			continue
		}
		switch {
		case t.msg == nil && r.msg == nil:
			for _, c := range r.children {
				link(t, c)
			}
			r.children = nil
		case t.msg == nil:
			link(t, r)
		case r.msg == nil:
			link(r, t)
			replace(t, r)
			table[subj] = r
		case !t.msg.reply && reply:
			link(t, r)
		default:
			d := &node{}
			replace(t, d)
			link(d, t)
			link(d, r)
			table[subj] = d
		}
	}
	return out
}

// threadData turns a tree into the response's nesting: a run of single
// children is one chain; several children are sub-threads.
func threadData(n *node) imapserver.ThreadData {
	var d imapserver.ThreadData
	for {
		if n.msg != nil {
			d.Chain = append(d.Chain, n.msg.num)
		}
		if len(n.children) != 1 || n.msg == nil {
			break
		}
		n = n.children[0]
	}
	if len(n.children) == 1 && n.msg == nil {
		return threadData(n.children[0])
	}
	for _, c := range n.children {
		d.SubThreads = append(d.SubThreads, threadData(c))
	}
	return d
}
