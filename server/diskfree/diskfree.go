// Package diskfree watches the free space of the file system that holds
// sluice's data directory. Below a floor (limits.min_free, in bytes, or
// limits.min_free_percent of the file system) the SMTP server refuses new
// mail with 452 4.3.1 "Insufficient system storage" (RFC 5321 4.2.3,
// RFC 3463 "mail system full") before the client sends a body, so that
// the mail already accepted still has room to be delivered; reading over
// IMAP goes on, and mail is taken again as soon as space returns.
package diskfree

import (
	"log/slog"
	"sync"
	"time"
)

// Stat reports the bytes available to the server and the total size of
// the file system holding path. Statfs is the real one; tests fake it.
type Stat func(path string) (avail, total uint64, err error)

// Options configure a Monitor. Path is required; with MinFree and
// MinFreePercent both 0 the space is measured but never low.
type Options struct {
	Path           string
	MinFree        uint64  // bytes that must stay available
	MinFreePercent float64 // percent of the file system that must stay available
	Stat           Stat    // default Statfs
	// Every is how long a reading is reused; default 1s (statfs is cheap,
	// but a busy MX asks at every MAIL).
	Every time.Duration
	// WarnEvery is the least time between two warnings while space is
	// low; default 1 minute.
	WarnEvery time.Duration
	Logger    *slog.Logger
	Now       func() time.Time // default time.Now
}

// Monitor answers "is the data file system too full for new mail?". It
// is safe for concurrent use.
type Monitor struct {
	o Options

	mu       sync.Mutex
	read     time.Time // when avail was read
	avail    uint64
	total    uint64
	low      bool
	warned   time.Time
	failures int // statfs errors in a row
}

// New returns a Monitor; it reads the file system on first use.
func New(o Options) *Monitor {
	if o.Stat == nil {
		o.Stat = Statfs
	}
	if o.Every <= 0 {
		o.Every = time.Second
	}
	if o.WarnEvery <= 0 {
		o.WarnEvery = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Monitor{o: o}
}

// Low reports whether the available space is under the floor.
func (m *Monitor) Low() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refresh()
	return m.low
}

// Free returns the bytes available on the file system, as last read.
func (m *Monitor) Free() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refresh()
	return m.avail
}

// Floor is the number of bytes that must stay available: the larger of
// MinFree and MinFreePercent of total.
func (o Options) Floor(total uint64) uint64 {
	floor := o.MinFree
	if p := uint64(o.MinFreePercent / 100 * float64(total)); p > floor {
		floor = p
	}
	return floor
}

// refresh reads the file system if the last reading is stale, and logs
// the changes: low (a warning, repeated at most every WarnEvery), and
// back to normal. A failed reading keeps the last state: a statfs error
// is no reason to refuse mail, nor to take it into a full disk.
func (m *Monitor) refresh() {
	now := m.o.Now()
	if !m.read.IsZero() && now.Sub(m.read) < m.o.Every {
		return
	}
	m.read = now
	avail, total, err := m.o.Stat(m.o.Path)
	if err != nil {
		if m.failures++; m.failures == 1 || now.Sub(m.warned) >= m.o.WarnEvery {
			m.warned = now
			m.o.Logger.Warn("cannot read the free space of the data directory", "path", m.o.Path, "err", err)
		}
		return
	}
	m.failures = 0
	m.avail, m.total = avail, total
	floor := m.o.Floor(total)
	wasLow := m.low
	m.low = floor > 0 && avail < floor
	switch {
	case m.low && (!wasLow || now.Sub(m.warned) >= m.o.WarnEvery):
		m.warned = now
		m.o.Logger.Warn("data file system low on space: refusing new mail (452 4.3.1)",
			"path", m.o.Path, "free", avail, "floor", floor, "total", total)
	case !m.low && wasLow:
		m.o.Logger.Info("data file system has room again: accepting mail", "path", m.o.Path, "free", avail, "floor", floor)
	}
}
