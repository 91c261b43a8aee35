package sieve

import (
	"fmt"
	"strings"
)

// ActionKind names what an Action does.
type ActionKind int

// The actions a script can take.
const (
	ActStore    ActionKind = iota // keep or fileinto: store in Mailbox with Flags
	ActRedirect                   // send on to Address
	ActDiscard                    // drop silently
	ActReject                     // refuse with Reason (Extended: ereject)
	ActVacation                   // answer the sender (Vacation)
)

// Action is one thing a script decided, in the order it decided it.
type Action struct {
	Kind     ActionKind
	Mailbox  string   // ActStore: the folder, "INBOX" for keep
	Flags    []string // ActStore: the IMAP flags to set
	Create   bool     // ActStore: create the folder if missing (:create)
	Copy     bool     // ActStore, ActRedirect: :copy, the implicit keep stays
	Address  string   // ActRedirect
	Reason   string   // ActReject
	Extended bool     // ActReject: ereject, refused in the SMTP dialogue
	Vacation *Vacation
	// Message is the message as editheader left it when the action was
	// taken (ActStore, ActRedirect); nil when it was not edited.
	Message []byte
}

// Vacation is a vacation auto-reply the script asked for (RFC 5230); the
// deliverer decides whether it goes out (tracking, lists, bulk).
type Vacation struct {
	Seconds   int64 // do not answer the same sender again within this
	Subject   string
	From      string
	Addresses []string
	Mime      bool
	Handle    string
	Reason    string
}

// Result is what a script decided for one message.
type Result struct {
	Actions      []Action
	ImplicitKeep bool     // no action cancelled it: store in INBOX
	KeepFlags    []string // the flags of the implicit keep
	KeepMessage  []byte   // the message the implicit keep stores, if edited
}

// add records an action, merging duplicates as RFC 5228 section 2.10.3
// asks and refusing the combinations Pigeonhole refuses.
func (r *run) add(a Action) error {
	res := r.res
	for i, o := range res.Actions {
		switch {
		case a.Kind == ActReject && (o.Kind == ActStore || o.Kind == ActRedirect || o.Kind == ActReject),
			o.Kind == ActReject && (a.Kind == ActStore || a.Kind == ActRedirect):
			return &RuntimeError{Msg: "reject conflicts with other actions"}
		case a.Kind == ActVacation && o.Kind == ActVacation:
			return &RuntimeError{Msg: "duplicate vacation action"}
		case a.Kind == ActStore && o.Kind == ActStore && o.Mailbox == a.Mailbox,
			a.Kind == ActRedirect && o.Kind == ActRedirect && strings.EqualFold(o.Address, a.Address),
			a.Kind == ActDiscard && o.Kind == ActDiscard:
			if !a.Copy {
				res.Actions[i].Copy = false
				res.ImplicitKeep = false
			}
			return nil
		}
	}
	if len(res.Actions) >= r.s.limits.Actions {
		return &RuntimeError{Msg: fmt.Sprintf("more than %d actions", r.s.limits.Actions)}
	}
	if a.Kind == ActRedirect {
		if r.redirects >= r.s.limits.Redirects {
			return &RuntimeError{Msg: fmt.Sprintf("more than %d redirects", r.s.limits.Redirects)}
		}
		r.redirects++
	}
	if a.Kind != ActVacation && !a.Copy {
		res.ImplicitKeep = false
	}
	if a.Kind == ActStore || a.Kind == ActRedirect {
		a.Message = r.currentRaw()
	}
	res.Actions = append(res.Actions, a)
	return nil
}

// Print writes the result in the words and layout of Pigeonhole's
// sieve-test, so that the two can be compared line by line.
func (res *Result) Print() string {
	var b strings.Builder
	b.WriteString("\nPerformed actions:\n\n")
	if len(res.Actions) == 0 {
		b.WriteString("  (none)\n")
	}
	for _, a := range res.Actions {
		printAction(&b, a)
	}
	b.WriteString("\nImplicit keep:\n\n")
	if res.ImplicitKeep {
		printAction(&b, Action{Kind: ActStore, Mailbox: "INBOX", Flags: res.KeepFlags})
	} else {
		b.WriteString("  (none)\n")
	}
	b.WriteString("\n")
	return b.String()
}

func printAction(b *strings.Builder, a Action) {
	switch a.Kind {
	case ActStore:
		fmt.Fprintf(b, " * store message in folder: %s\n", a.Mailbox)
		if len(a.Flags) > 0 {
			fmt.Fprintf(b, "        + add IMAP flags: %s\n", strings.Join(a.Flags, " "))
		}
		if a.Create {
			b.WriteString("        + create mailbox if it does not exist\n")
		}
	case ActRedirect:
		fmt.Fprintf(b, " * redirect message to: <%s>\n", a.Address)
	case ActDiscard:
		b.WriteString(" * discard\n")
	case ActReject:
		fmt.Fprintf(b, " * reject message with reason: %s\n", a.Reason)
	case ActVacation:
		printVacation(b, a.Vacation)
	}
	if a.Copy {
		b.WriteString("        + preserve implicit keep\n")
	}
}

func printVacation(b *strings.Builder, v *Vacation) {
	b.WriteString(" * send vacation message:\n")
	fmt.Fprintf(b, "    => seconds : %d\n", v.Seconds)
	if v.Subject != "" {
		fmt.Fprintf(b, "    => subject : %s\n", v.Subject)
	}
	if v.From != "" {
		fmt.Fprintf(b, "    => from    : %s\n", v.From)
	}
	fmt.Fprintf(b, "    => handle  : %s\n", v.Handle)
	fmt.Fprintf(b, "\nSTART MESSAGE\n%s\nEND MESSAGE\n", v.Reason)
}
