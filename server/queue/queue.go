// Package queue is the durable mail spool of sluice: Put acknowledges a
// message only once it and its envelope are fsynced, delivery workers hand
// it to local mailboxes (through a store.Deliverer) or relay it out, failed
// attempts are retried with backoff, and a permanent failure or expiry sends
// a delivery status notification (RFC 3464) back to the sender.
//
// The spool is a directory of append-only segment files shared by all
// writers. Concurrent Put calls are group-committed: one write and one fsync
// for every message that arrived while the previous fsync ran. Delivery
// outcomes are appended to the same log (per recipient, so a crash does not
// re-deliver to recipients already served), and a segment is deleted once
// every message in it is finished; the few long-lived messages of an old
// segment are copied forward (compaction). Recovery reads the segments in
// order on Open.
package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sluicemail/sluice/server/store"
)

// Recipient is one envelope recipient, already resolved.
type Recipient struct {
	Addr    string // final address (after alias resolution)
	Local   bool   // deliver to a local mailbox through the Deliverer
	User    string // the local user (mailbox owner, full address) when Local
	Mailbox string // "INBOX" or "Junk" for local delivery ("" = INBOX)
}

// Envelope is what the queue knows of a message besides its bytes.
type Envelope struct {
	From       string // MAIL FROM, "" for the null sender
	Rcpt       []Recipient
	Quarantine bool      // hold in the quarantine area, deliver nothing
	AuthUser   string    // submitting user, "" for inbound mail
	Received   time.Time // when the message was accepted
	Reason     string    // verdict summary for quarantine listing / logs
	// UTF8 is the SMTPUTF8 parameter of MAIL FROM (RFC 6531): the sender
	// declared an internationalised message, which the relay must not
	// downgrade.
	UTF8 bool
	// RequireTLS is the REQUIRETLS parameter (RFC 8689): every onward hop
	// must be verified TLS to a server that offers REQUIRETLS too.
	RequireTLS bool
}

// Sentinel errors.
var (
	ErrClosed   = errors.New("queue: closed")
	ErrNotFound = errors.New("queue: no such message")
	ErrLocked   = errors.New("queue: spool is in use by another process (is the server running?)")
	ErrReadOnly = errors.New("queue: opened read-only")
)

// Options configure a Queue. The zero value works for inspection (no
// delivery); a server sets Deliverer, Relay and Hostname.
type Options struct {
	Deliverer store.Deliverer // local mailboxes; nil fails local recipients temporarily
	Relay     Sender          // outbound SMTP; nil fails remote recipients temporarily
	Hostname  string          // this host, in DSNs (Reporting-MTA, MAILER-DAEMON@); default os.Hostname

	// Retry is the wait after the 1st, 2nd... failed attempt; the last value
	// repeats. Default 1m, 5m, 15m, 30m, 1h, 2h, 4h.
	Retry []time.Duration
	// MaxAge is how long a message may stay queued before it expires and
	// is bounced. Default 5 days.
	MaxAge time.Duration

	Workers   int // concurrent deliveries; default 16
	PerDomain int // concurrent relay transactions per destination domain; default 4

	// SegmentSize is the size at which the spool starts a new segment.
	// Default 32 MiB.
	SegmentSize int64
	// ScanInterval is how often due retries and segment cleanup are checked.
	// Default 1s.
	ScanInterval time.Duration
	// QuarantineDir holds quarantined messages. Default <dir>/quarantine.
	QuarantineDir string
	// Route decides where a DSN to addr goes when the failed message was
	// not submitted by a local user (whose DSNs always go to their own
	// INBOX): the recipients, or false for none. Default: out through the
	// relay. serve routes an address at a local domain to its mailboxes.
	// Delivery workers call it concurrently.
	Route func(addr string) ([]Recipient, bool)

	// Sign, when set, signs each DSN before it is queued (serve passes
	// the DKIM signer). A DSN is mail from MAILER-DAEMON@Hostname like any
	// other: a receiver that checks DMARC on an unsigned one may junk or
	// refuse the very report that tells the sender what went wrong. An
	// error (no key for that domain) leaves the DSN unsigned.
	Sign func(raw []byte) ([]byte, error)

	// SoftBounce keeps mail that would bounce (a permanent relay or local
	// failure, or expiry) queued and retried instead, logging each
	// failure (migration: {soft_bounce}).
	SoftBounce bool

	// ReadOnly opens the spool for inspection beside a running server: no
	// lock, no writes, no delivery, and a view that may be a moment old.
	ReadOnly bool

	Logger *slog.Logger
	Now    func() time.Time         // clock, for tests; default time.Now
	Fsync  func(f *os.File) error   // default (*os.File).Sync; tests count calls
	OnDone func(id string, ok bool) // called when a message leaves the queue (tests, metrics)
}

func (o *Options) defaults(dir string) {
	if o.Hostname == "" {
		o.Hostname, _ = os.Hostname()
	}
	if len(o.Retry) == 0 {
		o.Retry = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute,
			time.Hour, 2 * time.Hour, 4 * time.Hour}
	}
	if o.MaxAge == 0 {
		o.MaxAge = 5 * 24 * time.Hour
	}
	if o.Workers <= 0 {
		o.Workers = 16
	}
	if o.PerDomain <= 0 {
		o.PerDomain = 4
	}
	if o.SegmentSize <= 0 {
		o.SegmentSize = 32 << 20
	}
	if o.ScanInterval <= 0 {
		o.ScanInterval = time.Second
	}
	if o.QuarantineDir == "" {
		o.QuarantineDir = filepath.Join(dir, "quarantine")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Fsync == nil {
		o.Fsync = (*os.File).Sync
	}
}

// Dir is the queue directory inside a sluice data directory.
func Dir(data string) string { return filepath.Join(data, "queue") }

// Queue is an open spool. Its methods are safe for concurrent use.
type Queue struct {
	dir  string
	opts Options
	log  *slog.Logger
	lock *os.File
	w    *committer

	mu      sync.Mutex
	msgs    map[string]*message
	segs    []*segment // oldest first
	cur     *segment   // the segment the committer appends to, or nil
	nextSeg uint64
	closed  bool
	stopRun []context.CancelFunc // ends the Run calls, for Close

	ready   chan *message // messages due now
	kick    chan struct{} // wakes the scanner (retry now, segment cleanup)
	domains sync.Map      // destination domain -> chan struct{} (semaphore)
	running sync.WaitGroup
	counts  counts // for the metrics (metrics.go)
}

// message is the in-memory state of a queued message.
type message struct {
	id       string
	env      Envelope
	state    []byte // per recipient
	attempts int
	next     time.Time
	lastErr  string
	seg      *segment // where the current put record is
	rawOff   int64    // offset of the raw bytes in seg
	rawLen   int
	raw      []byte // kept in memory until the first attempt
	busy     bool   // queued for a worker or being delivered
}

// Open opens (creating if needed) the spool in dir and recovers it: every
// message acknowledged and not yet delivered is loaded to be delivered when
// Run starts. The directory is locked against a second process.
func Open(dir string, opts Options) (*Queue, error) {
	opts.defaults(dir)
	var lock *os.File
	if !opts.ReadOnly {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("queue: %w", err)
		}
		// The spool directory's own entry must be durable too, or a
		// power cut could lose a freshly created spool with its messages.
		if err := syncPath(filepath.Dir(dir), opts.Fsync); err != nil {
			return nil, fmt.Errorf("queue: %w", err)
		}
		var err error
		if lock, err = lockDir(dir); err != nil {
			return nil, err
		}
	}
	q := &Queue{
		dir: dir, opts: opts, log: opts.Logger, lock: lock,
		msgs:  map[string]*message{},
		ready: make(chan *message, 4096),
		kick:  make(chan struct{}, 1),
	}
	if err := q.recover(); err != nil {
		q.closeFiles()
		return nil, err
	}
	q.w = newCommitter(q, !opts.ReadOnly)
	return q, nil
}

// Put adds a message to the queue. It returns nil only after the message
// and its envelope are durable (written and fsynced, as is the directory
// entry of a new segment file); an error means the message is not queued
// and the client must be told to retry (451).
func (q *Queue) Put(ctx context.Context, env Envelope, raw []byte) (string, error) {
	if len(env.Rcpt) == 0 {
		return "", errors.New("queue: no recipients")
	}
	if len(raw) > maxPayload-64<<10 {
		return "", fmt.Errorf("queue: message of %d bytes is too large for the spool", len(raw))
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if env.Received.IsZero() {
		env.Received = q.opts.Now()
	}
	m := &message{id: newID(q.opts.Now()), env: env, state: make([]byte, len(env.Rcpt))}
	m.raw = raw
	if err := q.writePut(m); err != nil {
		return "", err
	}
	q.mu.Lock()
	q.msgs[m.id] = m
	q.mu.Unlock()
	q.log.Debug("queued", "id", m.id, "from", env.From, "rcpts", len(env.Rcpt), "size", len(raw), "quarantine", env.Quarantine)
	q.enqueue(m)
	return m.id, nil
}

// writePut appends m's put record durably and points m at it.
func (q *Queue) writePut(m *message) error {
	raw := m.raw
	if raw == nil {
		var err error
		if raw, err = q.readRaw(m); err != nil {
			return err
		}
	}
	p := &putRecord{ID: m.id, Env: m.env, State: m.state, Attempts: m.attempts, Next: m.next, LastErr: m.lastErr, Raw: raw}
	payload := encodePut(p)
	req := &appendReq{frame: appendFrame(nil, recPut, payload), put: true, sync: true, done: make(chan struct{})}
	if err := q.w.submit(req); err != nil {
		return err
	}
	<-req.done
	if req.err != nil {
		return fmt.Errorf("queue: spool write: %w", req.err)
	}
	// The raw bytes are the tail of the payload, which is the tail of the frame.
	// Keep our own copy (inside the frame) rather than the caller's
	// buffer, which the caller may reuse once Put returns.
	own := req.frame[len(req.frame)-len(raw):]
	q.mu.Lock()
	m.seg, m.rawOff, m.rawLen = req.seg, req.off+int64(len(req.frame)-len(raw)), len(raw)
	if m.raw != nil {
		m.raw = own
	}
	q.mu.Unlock()
	return nil
}

// readRaw returns the message bytes, from memory or from its segment.
func (q *Queue) readRaw(m *message) ([]byte, error) {
	if m.raw != nil {
		return m.raw, nil
	}
	buf := make([]byte, m.rawLen)
	if _, err := m.seg.r.ReadAt(buf, m.rawOff); err != nil {
		return nil, fmt.Errorf("queue: read %s from %s: %w", m.id, m.seg.path, err)
	}
	return buf, nil
}

// appendAsync appends a record that needs no acknowledgement (a delivery
// outcome): it becomes durable with the next fsync, at the latest after
// lazySync. Losing it in a crash only means a repeated delivery attempt.
func (q *Queue) appendAsync(typ byte, payload []byte) {
	if err := q.w.submit(&appendReq{frame: appendFrame(nil, typ, payload)}); err != nil {
		q.log.Warn("spool append", "err", err)
	}
}

// Close stops the delivery workers (after their current attempt), stops
// accepting messages, flushes the spool and releases it.
func (q *Queue) Close() error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil
	}
	q.closed = true
	for _, stop := range q.stopRun {
		stop()
	}
	q.mu.Unlock()
	q.running.Wait()
	err := q.w.close()
	q.closeFiles()
	return err
}

func (q *Queue) closeFiles() {
	for _, s := range q.segs {
		s.r.Close()
	}
	if q.lock != nil {
		q.lock.Close()
	}
}
