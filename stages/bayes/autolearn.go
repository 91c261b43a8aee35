package bayes

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"time"
)

// AutolearnSettings are the guards of learning from the model's own
// confident verdicts (the `autolearn:` block of the bayes stage).
type AutolearnSettings struct {
	// Spam learns a message as spam when bayes.spam is at least this; 0
	// never does.
	Spam float64 `yaml:"spam"`
	// Ham learns a message as ham when bayes.spam is at most this; 0
	// never does.
	Ham float64 `yaml:"ham"`
	// PerSender caps the messages learnt automatically per sender domain
	// within Period, so that one campaign of near-identical messages moves
	// the model by at most that many. Default 20.
	PerSender int `yaml:"per_sender"`
	// Period is the cap's span. Default 24h.
	Period string `yaml:"period"`
	// Window is how long a user's correction of an autolearnt message
	// (moving it out of or into Junk) rolls the autolearn back. Default
	// 72h.
	Window string `yaml:"window"`
}

// Autolearner learns confident verdicts into a Model within its guards,
// and takes them back when a user corrects one within the window. The
// stage's autolearner keeps its records in a log beside the model
// (autolearn_log.go), so that a restart forgets neither; one made with
// NewAutolearner keeps them in memory only.
type Autolearner struct {
	m              *Model
	settings       AutolearnSettings
	spam, ham      float64
	cap            int
	period, window time.Duration

	// mu guards the records below. A successor (autolearnerFor) shares
	// them and this lock: messages still in flight on the old rule set
	// learn through the old autolearner while the Junk trainer corrects
	// through the new one.
	mu      *sync.Mutex
	senders map[string][]time.Time // sender domain: when each of its autolearns happened
	learnt  map[Digest]autoRecord
	counts  *autoCounters // kept by the autolearner that replaces this one
	log     *autolearnLog // nil: the records live in memory only
}

// autoRecord is one message learnt automatically.
type autoRecord struct {
	size   int // of the raw message as learnt: the delivered copy ends with it
	sender string
	at     time.Time
}

// NewAutolearner builds the guards over m; it errs on bad settings.
func NewAutolearner(m *Model, s AutolearnSettings) (*Autolearner, error) {
	a := &Autolearner{m: m, settings: s, spam: s.Spam, ham: s.Ham, cap: s.PerSender, period: 24 * time.Hour, window: 72 * time.Hour,
		mu: new(sync.Mutex), senders: map[string][]time.Time{}, learnt: map[Digest]autoRecord{}, counts: new(autoCounters)}
	if a.cap == 0 {
		a.cap = 20
	}
	if a.cap < 0 || s.Spam < 0 || s.Spam > 1 || s.Ham < 0 || s.Ham > 1 || (s.Spam > 0 && s.Ham >= s.Spam) {
		return nil, fmt.Errorf("bayes autolearn: need 0 <= ham < spam <= 1 and per_sender >= 0 (got ham %v, spam %v, per_sender %d)", s.Ham, s.Spam, s.PerSender)
	}
	for _, d := range []struct {
		s   string
		out *time.Duration
	}{{s.Period, &a.period}, {s.Window, &a.window}} {
		if d.s == "" {
			continue
		}
		v, err := time.ParseDuration(d.s)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("bayes autolearn: bad duration %q", d.s)
		}
		*d.out = v
	}
	return a, nil
}

// autolearnerFor returns the model's autolearner for settings s: the one
// the model already has when s is unchanged, so that a reload of the rules
// keeps the caps and the window's records, else a new one that takes them
// over. The Junk trainer finds it through the model. The first one reads
// and then keeps its records in the log at logPath ("": memory only).
func (m *Model) autolearnerFor(s AutolearnSettings, logPath string) (*Autolearner, error) {
	m.autoMu.Lock()
	defer m.autoMu.Unlock()
	old := m.auto
	if old != nil && old.settings == s {
		return old, nil
	}
	a, err := NewAutolearner(m, s)
	if err != nil {
		return nil, err
	}
	if old != nil {
		old.mu.Lock()
		a.mu, a.senders, a.learnt, a.counts, a.log = old.mu, old.senders, old.learnt, old.counts, old.log
		old.mu.Unlock()
	} else if logPath != "" {
		if a.log, err = openAutolearnLog(logPath, a, time.Now()); err != nil {
			return nil, err
		}
	}
	m.auto = a
	return a, nil
}

// Autolearner returns the autolearner a stage set up on the model, nil if
// none ever did.
func (m *Model) Autolearner() *Autolearner {
	m.autoMu.Lock()
	defer m.autoMu.Unlock()
	return m.auto
}

// Consider learns raw, scored spam, if the score is confident enough and
// its sender's domain is under the cap. It returns the class learnt, or 0.
func (a *Autolearner) Consider(raw []byte, spam float64, sender string, now time.Time) (Class, error) {
	switch {
	case a.spam > 0 && spam >= a.spam:
		return a.Learn(raw, Spam, sender, now)
	case a.ham > 0 && spam <= a.ham:
		return a.Learn(raw, Ham, sender, now)
	}
	return 0, nil
}

// Learn learns raw as class within the guards: once per message, under
// the sender domain's cap, recorded for a rollback within the window.
// Consider calls it for a confident score, the stage for a rule's learn:.
// It returns the class learnt, or 0 when a guard held it back.
func (a *Autolearner) Learn(raw []byte, class Class, sender string, now time.Time) (Class, error) {
	dom := senderDomain(sender)
	raw = TrimFromLine(raw)
	d := DigestOf(raw)
	a.mu.Lock()
	if _, done := a.learnt[d]; done || !a.admit(dom, now) {
		a.mu.Unlock()
		return 0, nil
	}
	a.learnt[d] = autoRecord{size: len(raw), sender: dom, at: now}
	a.mu.Unlock()
	learnt, err := a.m.Learn(raw, class)
	if err != nil || !learnt {
		a.mu.Lock()
		delete(a.learnt, d)
		a.release(dom, now)
		a.mu.Unlock()
		return 0, err
	}
	if a.log != nil {
		a.mu.Lock()
		if r, ok := a.learnt[d]; ok {
			a.log.learnt(d, r, a.learnt)
		}
		a.mu.Unlock()
	}
	a.counts.learnt(class)
	return class, nil
}

// admit takes a slot of the sender's cap, dropping what fell out of the
// period; the caller holds mu.
func (a *Autolearner) admit(dom string, now time.Time) bool {
	ts := a.senders[dom]
	for len(ts) > 0 && now.Sub(ts[0]) >= a.period {
		ts = ts[1:]
	}
	if len(ts) >= a.cap {
		a.senders[dom] = ts
		return false
	}
	a.senders[dom] = append(ts, now)
	return true
}

// release gives back the newest slot of the sender's cap taken at or
// before now; the caller holds mu.
func (a *Autolearner) release(dom string, at time.Time) {
	ts := a.senders[dom]
	for i := len(ts) - 1; i >= 0; i-- {
		if !ts[i].After(at) {
			a.senders[dom] = append(ts[:i:i], ts[i+1:]...)
			return
		}
	}
}

// Corrected is told that a user moved raw into or out of Junk. If the
// message (or the message it was delivered as: the server adds header
// fields at the top, so the learnt bytes are its tail) was learnt
// automatically within the window, that learn is taken back and the
// sender's slot freed; the caller then learns the user's verdict. It
// reports whether it rolled one back.
func (a *Autolearner) Corrected(raw []byte, now time.Time) (bool, error) {
	raw = TrimFromLine(raw)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.expire(now)
	for d, r := range a.learnt {
		if r.size > len(raw) || now.Sub(r.at) >= a.window {
			continue
		}
		orig := raw[len(raw)-r.size:]
		if len(orig) != len(raw) && !bytes.HasSuffix(raw[:len(raw)-r.size], []byte("\n")) {
			continue // not a whole header field boundary
		}
		if DigestOf(orig) != d {
			continue
		}
		if _, err := a.m.Unlearn(orig); err != nil {
			return false, err
		}
		delete(a.learnt, d)
		a.release(r.sender, r.at)
		if a.log != nil {
			a.log.dropped(d, a.learnt)
		}
		a.counts.rolledBack.Add(1)
		return true, nil
	}
	return false, nil
}

// expire forgets the records past both the window and the period (the
// log needs a record as long as its sender's slot lasts, to give it back
// after a restart); the caller holds mu.
func (a *Autolearner) expire(now time.Time) {
	keep := a.keep()
	for d, r := range a.learnt {
		if now.Sub(r.at) >= keep {
			delete(a.learnt, d)
		}
	}
}

// keep is how long a record matters: for a rollback, or for its slot.
func (a *Autolearner) keep() time.Duration { return max(a.window, a.period) }

// senderDomain is the domain the cap counts by: of an address, or the
// value itself.
func senderDomain(s string) string {
	s = strings.ToLower(strings.Trim(strings.TrimSpace(s), "<>"))
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		return s[i+1:]
	}
	return s
}
