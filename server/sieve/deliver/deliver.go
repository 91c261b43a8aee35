// Package deliver runs a user's active Sieve script at local delivery,
// after the administrator's rules, and carries out what it decides:
// folders with flags, redirects through the forwarding hook (SRS and
// ARC), vacation replies and rejections through the queue.
//
// The rules come first and their reject, tempfail, discard and
// quarantine are final: such mail never reaches local delivery. Their
// junk verdict arrives here as the Junk mailbox: the implicit keep then
// files into Junk, while an explicit keep or fileinto of the script
// wins, as Dovecot's sieve_before plus a user script behaves.
package deliver

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/server/forward"
	"github.com/sluicemail/sluice/server/queue"
	"github.com/sluicemail/sluice/server/sieve"
	"github.com/sluicemail/sluice/server/sieve/scripts"
	"github.com/sluicemail/sluice/server/store"
)

// Deliverer is a store.Deliverer that runs Sieve first.
type Deliverer struct {
	Store    *store.Store
	Scripts  *scripts.Store
	Forward  *forward.Forwarder // redirect goes through it; nil forwards unchanged
	Hostname string             // in the Message-ID of replies
	// Route resolves the recipient of a reply or rejection as the MX
	// would (serve's router); nil sends everything out.
	Route  func(addr string) ([]queue.Recipient, bool)
	Logger *slog.Logger
	Now    func() time.Time // default time.Now
	// SpamScore is the verdict score spamtest takes as certain spam
	// (its top value, 10); default 10. The Bayes probability counts when
	// it says more.
	SpamScore float64

	mu    sync.RWMutex
	queue forward.Queue
	track *tracker
	once  sync.Once
}

// SetQueue hands over the queue that redirects and replies go into; the
// queue is opened after its deliverer, so this comes late.
func (d *Deliverer) SetQueue(q forward.Queue) {
	d.mu.Lock()
	d.queue = q
	d.mu.Unlock()
}

func (d *Deliverer) getQueue() forward.Queue {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.queue
}

func (d *Deliverer) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Deliverer) log() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.Default()
}

// Deliver stores raw for user as the user's script says; without a
// script it stores into mailbox as asked. raw starts with the
// Return-Path the queue wrote, which gives the envelope sender.
func (d *Deliverer) Deliver(user, mailbox string, raw []byte, flags string, date time.Time) error {
	script, name, err := d.Scripts.Active(user)
	if err != nil {
		d.log().Warn("sieve: active script unusable, keeping", "user", user, "script", name, "err", err)
	}
	if script == nil {
		return d.Store.Deliver(user, mailbox, raw, flags, date)
	}
	msg := sieve.ParseMessage(raw)
	env := sieve.Env{
		Envelope: sieve.Envelope{From: returnPath(msg), To: user},
		Msg:      msg,
		Now:      d.now(),
		Spam:     d.spamCertainty(msg),
	}
	res, err := script.Execute(env)
	if err != nil {
		d.log().Warn("sieve: script failed, keeping", "user", user, "script", name, "err", err)
	}
	return d.apply(user, mailbox, raw, date, msg, env, res)
}

// spamCertainty maps our spam status field (the topmost, which the SMTP
// session wrote after removing any that came with the message) to the
// 0..1 that spamtest reports: the larger of score/SpamScore and the
// Bayes probability. nil when the message did not come through the MX.
func (d *Deliverer) spamCertainty(msg *sieve.Message) *float64 {
	vals := msg.Header.Values(engine.SpamStatusField)
	if len(vals) == 0 {
		return nil
	}
	score, bayes, hasBayes, ok := engine.ParseSpamStatus(vals[0])
	if !ok {
		return nil
	}
	top := d.SpamScore
	if top <= 0 {
		top = 10
	}
	c := min(max(score/top, 0), 1)
	if hasBayes && bayes > c {
		c = bayes
	}
	return &c
}

// returnPath reads the envelope sender from the Return-Path header.
func returnPath(msg *sieve.Message) string {
	return strings.Trim(strings.TrimSpace(msg.Header.Get("Return-Path")), "<>")
}

// apply carries out a result: stores first (their failure is temporary
// and the queue retries), then the messages that leave.
func (d *Deliverer) apply(user, keepBox string, raw []byte, date time.Time, msg *sieve.Message, env sieve.Env, res *sieve.Result) error {
	keep := res.ImplicitKeep
	for _, a := range res.Actions {
		if a.Kind != sieve.ActStore {
			continue
		}
		fresh := !d.exists(user, a.Mailbox)
		if fresh && !a.Create {
			// fileinto a folder that is not there, without :create:
			// Pigeonhole keeps the message instead (a folder the user
			// deleted would come back unsubscribed, out of sight).
			d.log().Warn("sieve: fileinto a missing folder, keeping in INBOX", "user", user, "mailbox", a.Mailbox)
			keepBox, keep = "INBOX", true
			continue
		}
		err := d.store(user, a.Mailbox, edited(raw, a.Message), a.Flags, date)
		if err == nil && fresh {
			d.subscribe(user, a.Mailbox)
		}
		if err != nil && store.IsPermanent(err) && a.Mailbox != "INBOX" {
			// A folder the store refuses ("a/b"): keep the message
			// instead of bouncing it, as Pigeonhole does.
			d.log().Warn("sieve: fileinto refused, keeping in INBOX", "user", user, "mailbox", a.Mailbox, "err", err)
			keepBox, keep = "INBOX", true
			continue
		}
		if err != nil {
			return err
		}
	}
	if keep {
		if err := d.store(user, keepBox, edited(raw, res.KeepMessage), res.KeepFlags, date); err != nil {
			return err
		}
	}
	var errs []error
	for _, a := range res.Actions {
		switch a.Kind {
		case sieve.ActRedirect:
			errs = append(errs, d.redirect(user, env.Envelope.From, a.Address, edited(raw, a.Message), msg.Header.Get("Message-ID")))
		case sieve.ActReject:
			d.reject(user, env.Envelope.From, msg, a.Reason)
		case sieve.ActVacation:
			d.vacation(user, env.Envelope.From, msg, a.Vacation)
		case sieve.ActDiscard:
			d.log().Info("sieve: discarded", "user", user)
		}
	}
	return errors.Join(errs...)
}

// exists says whether user has mailbox (INBOX always counts).
func (d *Deliverer) exists(user, mailbox string) bool {
	if strings.EqualFold(mailbox, "INBOX") {
		return true
	}
	dir, err := d.Store.MailboxDir(user, mailbox)
	if err != nil {
		return true // let the store say what is wrong with the name
	}
	_, err = os.Stat(filepath.Join(dir, "cur"))
	return err == nil
}

// subscribe makes a folder :create made visible to mail clients that
// list subscribed folders only.
func (d *Deliverer) subscribe(user, mailbox string) {
	acc, err := d.Store.Account(user)
	if err == nil {
		err = acc.SetSubscribed(mailbox, true)
	}
	if err != nil {
		d.log().Warn("sieve: new folder not subscribed", "user", user, "mailbox", mailbox, "err", err)
	}
}

// edited is the message an action carries: as editheader left it, or
// as it came.
func edited(raw, msg []byte) []byte {
	if msg != nil {
		return msg
	}
	return raw
}

// store puts raw in mailbox with flags; keywords need the mailbox
// index, so a message with keywords is appended through the account.
func (d *Deliverer) store(user, mailbox string, raw []byte, flags []string, date time.Time) error {
	letters, keywords := store.SplitFlags(flags)
	if len(keywords) > 0 {
		err := d.appendWithKeywords(user, mailbox, raw, flags, date)
		if err == nil {
			return nil
		}
		// Over quota, say: the message matters more than its keywords.
		d.log().Warn("sieve: keywords not set", "user", user, "mailbox", mailbox, "err", err)
	}
	return d.Store.Deliver(user, mailbox, raw, letters, date)
}

func (d *Deliverer) appendWithKeywords(user, mailbox string, raw []byte, flags []string, date time.Time) error {
	acc, err := d.Store.Account(user)
	if err != nil {
		return err
	}
	mb, err := acc.Mailbox(mailbox)
	if err != nil {
		if cerr := acc.Create(mailbox); cerr != nil {
			return err
		}
		if mb, err = acc.Mailbox(mailbox); err != nil {
			return err
		}
	}
	_, _, err = mb.Append(raw, flags, date)
	return err
}

// redirectMemory is how long a redirect of one message to one address
// is remembered (Pigeonhole's sieve_redirect_duplicate_period): a retry
// of the delivery, or the message coming back round a loop of
// redirects, does not send it again.
const redirectMemory = 12 * time.Hour

// redirect sends the message on, without the Return-Path we added,
// through the forwarding hook (SRS for the sender, an ARC seal).
func (d *Deliverer) redirect(user, sender, to string, raw []byte, msgID string) error {
	q := d.getQueue()
	if q == nil {
		return errors.New("sieve: redirect: no queue")
	}
	if msgID != "" {
		fresh, err := d.tracker().claim(user, "redirect\x00"+strings.ToLower(to), msgID, redirectMemory)
		if err == nil && !fresh {
			d.log().Info("sieve: redirect already done", "user", user, "to", to, "message_id", msgID)
			return nil
		}
	}
	id, err := d.Forward.Queue(context.Background(), q, sender, []string{to}, stripReturnPath(raw), "sieve redirect by "+user)
	if err != nil {
		return err
	}
	d.log().Info("sieve: redirected", "user", user, "to", to, "id", id)
	return nil
}

func stripReturnPath(raw []byte) []byte {
	if !bytes.HasPrefix(bytes.ToLower(raw[:min(len(raw), 12)]), []byte("return-path:")) {
		return raw
	}
	if i := bytes.IndexByte(raw, '\n'); i >= 0 {
		return raw[i+1:]
	}
	return raw
}

// send queues a message we write ourselves (a reply, a rejection) from
// the null sender, so that it can never bounce back into a loop.
func (d *Deliverer) send(to string, raw []byte, reason string) error {
	q := d.getQueue()
	if q == nil {
		return errors.New("no queue")
	}
	env := queue.Envelope{Received: d.now(), Reason: reason}
	if d.Route != nil {
		if rcpts, ok := d.Route(to); ok {
			env.Rcpt = rcpts
		}
	} else {
		env.Rcpt = []queue.Recipient{{Addr: to}}
	}
	if len(env.Rcpt) == 0 {
		return errors.New("no route to " + to)
	}
	_, err := q.Put(context.Background(), env, raw)
	return err
}

func (d *Deliverer) tracker() *tracker {
	d.once.Do(func() { d.track = &tracker{home: d.Store.UserDir, clock: d.now} })
	return d.track
}

func (d *Deliverer) vacation(user, sender string, msg *sieve.Message, v *sieve.Vacation) {
	if why := skipReason(msg, sender, user, v); why != "" {
		d.log().Info("sieve: no vacation reply", "user", user, "sender", sender, "why", why)
		return
	}
	ok, err := d.tracker().claim(user, v.Handle, sender, time.Duration(v.Seconds)*time.Second)
	if err != nil {
		d.log().Warn("sieve: vacation tracking failed, no reply", "user", user, "err", err)
		return
	}
	if !ok {
		d.log().Info("sieve: no vacation reply", "user", user, "sender", sender, "why", "already answered within the period")
		return
	}
	reply := composeReply(msg, v, user, sender, d.Hostname, d.now())
	if err := d.send(sender, reply, "sieve vacation of "+user); err != nil {
		d.log().Warn("sieve: vacation reply not queued", "user", user, "err", err)
		return
	}
	d.log().Info("sieve: vacation reply sent", "user", user, "to", sender)
}
