package store

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/sluicemail/sluice/server/store/envelope"
)

// keysVersion changes whenever the way Keys are derived from an
// envelope changes; entries with another version are derived again
// when a mailbox is loaded, as entries written before Keys existed are.
const keysVersion = 1

// Keys are the header values SEARCH, SORT and THREAD compare, derived
// from the envelope once, when a message is indexed, and kept in its
// index entry. A query over 10,000 messages then compares strings
// instead of decoding 10,000 JSON envelopes. Keys never change once
// made (a message's header does not), so copies share them.
type Keys struct {
	Version int `json:"v"`
	// Subject is the decoded Subject, lower-cased (SEARCH SUBJECT).
	Subject string `json:"s,omitempty"`
	// BaseSubject is RFC 5256's base subject (SORT SUBJECT, THREAD), and
	// Reply whether removing reply or forward markers made it.
	BaseSubject string `json:"bs,omitempty"`
	Reply       bool   `json:"r,omitempty"`
	// From, To, Cc and Bcc hold each address as SEARCH matches it,
	// lower-cased: "name <mailbox@host>", or "mailbox@host" without a
	// name, and a group by its name.
	From []string `json:"f,omitempty"`
	To   []string `json:"t,omitempty"`
	Cc   []string `json:"c,omitempty"`
	Bcc  []string `json:"b,omitempty"`
	// FromMailbox, ToMailbox and CcMailbox are the first address's
	// mailbox (local part), upper-cased as i;ascii-casemap folds (SORT
	// FROM, TO, CC); DisplayFrom and DisplayTo its display name, or its
	// address without one (SORT DISPLAYFROM, DISPLAYTO, RFC 5957).
	FromMailbox string `json:"fm,omitempty"`
	ToMailbox   string `json:"tm,omitempty"`
	CcMailbox   string `json:"cm,omitempty"`
	DisplayFrom string `json:"df,omitempty"`
	DisplayTo   string `json:"dt,omitempty"`
	// Sent is the Date header in Unix seconds (SORT DATE, THREAD), nil
	// when the header is missing or unreadable.
	Sent *int64 `json:"d,omitempty"`
	// MessageID is the envelope's Message-ID (THREAD).
	MessageID string `json:"id,omitempty"`
}

// SentDate returns the Date header's time; ok is false without one.
func (k *Keys) SentDate() (t time.Time, ok bool) {
	if k.Sent == nil {
		return time.Time{}, false
	}
	return time.Unix(*k.Sent, 0), true
}

// keysOf derives a message's keys from its envelope.
func keysOf(env *imap.Envelope) *Keys {
	k := &Keys{Version: keysVersion, Subject: strings.ToLower(env.Subject),
		From: searchForms(env.From), To: searchForms(env.To), Cc: searchForms(env.Cc), Bcc: searchForms(env.Bcc),
		FromMailbox: firstMailbox(env.From), ToMailbox: firstMailbox(env.To), CcMailbox: firstMailbox(env.Cc),
		DisplayFrom: displayName(env.From), DisplayTo: displayName(env.To), MessageID: env.MessageID}
	k.BaseSubject, k.Reply = envelope.BaseSubject(env.Subject)
	if !env.Date.IsZero() {
		sec := env.Date.Unix()
		k.Sent = &sec
	}
	return k
}

// keysOfJSON derives keys from an envelope as the index stores it (an
// entry written before keys were kept); an unreadable envelope gives the
// keys of an empty one, as Message.Envelope does.
func keysOfJSON(raw json.RawMessage) *Keys {
	var env imap.Envelope
	if len(raw) == 0 || json.Unmarshal(raw, &env) != nil {
		env = imap.Envelope{}
	}
	return keysOf(&env)
}

// searchForms lists the addresses of a header field the way SEARCH
// matches them (so a comment or a group does not hide an address, as in
// Dovecot), lower-cased for a case-insensitive match.
func searchForms(list []imap.Address) []string {
	var out []string
	for _, a := range list {
		var s string
		switch {
		case a.IsGroupStart():
			s = a.Mailbox
		case a.IsGroupEnd():
			continue
		case a.Name != "":
			s = a.Name + " <" + a.Mailbox + "@" + a.Host + ">"
		default:
			s = a.Mailbox + "@" + a.Host
		}
		out = append(out, strings.ToLower(s))
	}
	return out
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
