package store

import (
	"encoding/json"
	"errors"
	"io/fs"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
)

// The first open of a large Maildir never indexed (bench/imap: 10,000
// files) read and parsed every file before SELECT could answer, 3-8x
// Dovecot's time. SELECT needs only what the file names and a stat give:
// UIDs, flags, the internal date. So a batch of at least lazyFrom new
// files is indexed in two steps: apply gives each file its UID and MODSEQ
// in the usual order and commits that at once; what only the content
// gives (envelope, SEARCH keys, RFC822.SIZE) is read later, by whoever
// needs it first: a FETCH of 50 envelopes reads 50 files, and fill reads
// the rest in the background and writes it into the index. An index entry
// without an envelope is such a message; a crash before fill wrote it
// loses nothing, the next load reads the file again.

// lazyFrom is the default number of new files from which a sync indexes
// their content lazily; a delivery or a small copy stays eager.
const lazyFrom = 256

// fillBatch is how many messages fill reads between index commits; the
// mailbox is locked while their files move to cur/ and the commit runs,
// so a command arriving meanwhile waits for that: with 500, a SORT or a
// FETCH of 100 bodies took 2-3x its time (bench/imap).
const fillBatch = 128

// Fill is background work: it reads and settles a batch only when no
// session's command has run on the account for fillQuiet, but waits at
// most fillWaitMax for such a pause, so that a mailbox never idle
// (imaptest's stress) is still filled, slowly; commands read what they
// need themselves meanwhile. Reading 10,000 files alongside the commands
// that followed a restart made FETCH 1:* 1.6x and SORT 2x Dovecot's time
// on 2 cores (bench/imap, run 10). The quiet is long enough for a client
// to digest an answer: a client decoding the envelopes of FETCH 1:* for
// 150 ms after the server's last write is still busy with the mailbox,
// and fill's moves to cur/ slowed it by a third (bench/imap, with a
// quiet of 20 ms).
const (
	fillQuiet   = 250 * time.Millisecond
	fillWaitMax = 5 * time.Second
)

// fillDelay is how long fill lets the session that opened the mailbox go
// first: on 2 cores, starting at once doubled the time of the FETCH of 50
// envelopes that follows a client's first SELECT (bench/imap).
const fillDelay = 300 * time.Millisecond

// lazyContent is what the index keeps of a message's content, read from
// its file on first use. Copies of the Message share it.
type lazyContent struct {
	dir, base string
	path      atomic.Pointer[string] // the file's current path (flag changes rename it)

	mu     sync.Mutex // held while reading the file
	done   atomic.Bool
	failed bool // the file could not be read: empty content, not written to the index
	fileInfo
}

func newLazyContent(dir, base, path string) *lazyContent {
	l := &lazyContent{dir: dir, base: base}
	l.path.Store(&path)
	return l
}

// moved records the file's new path after a rename.
func (l *lazyContent) moved(path string) {
	if !l.done.Load() {
		l.path.Store(&path)
	}
}

// load reads the file once. It never takes the mailbox's lock, so it may
// run under it (SEARCH inside View, Status).
func (l *lazyContent) load() {
	if l.done.Load() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done.Load() {
		return
	}
	var err error
	for try := 0; try < 3; try++ {
		path := *l.path.Load()
		if try > 0 {
			// Renamed by another program, not seen by a sync yet.
			if found := findFile(l.dir, l.base); found != "" {
				path = found
			}
		}
		l.fileInfo, err = readIndexInfo(path)
		if err == nil || !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if err != nil {
		// Gone (the next full sync expunges it) or unreadable: an empty
		// envelope, as for a broken header, kept out of the index so
		// that the next load tries again.
		l.failed = true
		l.dec = &imap.Envelope{}
		l.env, _ = json.Marshal(l.dec)
		l.keys = keysOf(l.dec)
	}
	l.done.Store(true)
}

// Busy marks a session's command in progress on the account's mail until
// the returned func is called: fill runs in the pauses between commands.
func (a *Account) Busy() (done func()) {
	a.busy.Add(1)
	return func() {
		a.idleSince.Store(time.Now().UnixNano())
		a.busy.Add(-1)
	}
}

// Busy is the mailbox's account's Busy.
func (m *Mailbox) Busy() (done func()) { return m.a.Busy() }

// awaitPause waits until no command has run for fillQuiet, at most
// fillWaitMax. It returns nil if the mailbox closes meanwhile; else a
// check for the work done in the pause to call before each file: true
// when a command came and the work should stop there (the rest waits
// for the next pause). Work that waited fillWaitMax is not stopped, so
// that it goes on under constant use.
func (m *Mailbox) awaitPause() (interrupted func() bool) {
	deadline := time.Now().Add(m.a.s.fillWaitMax)
	for {
		wait := fillQuiet - time.Since(time.Unix(0, m.a.idleSince.Load()))
		if m.a.busy.Load() > 0 {
			wait = fillQuiet
		}
		if wait <= 0 {
			return m.commandCame
		}
		if left := time.Until(deadline); left <= 0 {
			return neverInterrupted
		} else if wait > left {
			wait = left
		}
		select {
		case <-time.After(wait):
		case <-m.quit:
			return nil
		}
	}
}

// commandCame reports whether a session's command runs, or waits for the
// mailbox's lock, on the account.
func (m *Mailbox) commandCame() bool { return m.a.busy.Load() > 0 }

func neverInterrupted() bool { return false }

// findFile returns the path of the file with base in dir's cur/ or new/,
// "" if there is none.
func findFile(dir, base string) string {
	for _, sub := range []string{"cur", "new"} {
		names, _ := filepath.Glob(filepath.Join(dir, sub, globEscape(base)+"*"))
		for _, n := range names {
			if b, _, _ := splitName(filepath.Base(n)); b == base {
				return n
			}
		}
	}
	return ""
}

// content returns the message's lazy content loaded, or nil when the
// message's fields hold it already.
func (msg *Message) content() *lazyContent {
	if msg.lazy == nil {
		return nil
	}
	msg.lazy.load()
	return msg.lazy
}

// Size returns the message's size as IMAP counts it (RFC822.SIZE), reading
// its file first if it was not yet.
func (msg *Message) Size() int64 {
	if l := msg.content(); l != nil {
		return l.size
	}
	return msg.size
}

// KnownSize returns the message's size (as Size counts it) when the index
// or an earlier read of its file knows it, without reading the file.
func (msg *Message) KnownSize() (int64, bool) {
	if l := msg.lazy; l != nil {
		if !l.done.Load() {
			return 0, false
		}
		return l.size, true
	}
	return msg.size, true
}

// Load reads the content of those of msgs not read yet, in parallel, so
// that a SEARCH or SORT over a mailbox still being filled does not read
// its files one by one.
func Load(msgs []*Message) {
	var todo []*lazyContent
	for _, msg := range msgs {
		if msg.lazy != nil && !msg.lazy.done.Load() {
			todo = append(todo, msg.lazy)
		}
	}
	parallel(len(todo), func(i int) { todo[i].load() })
}

// placeFile is the first step of indexing a new file, from its name
// alone: its content and internal date (the file's mtime) are left to
// lazyContent, and its move from new/ to cur/ to fill (settle). The moves
// were half of the first SELECT's time (renames from one directory to
// another take a lock of the whole file system, so they do not run in
// parallel), the stats another third.
func (m *Mailbox) placeFile(f diskFile) (*Message, error) {
	path := filepath.Join(m.dir, f.sub, f.name)
	return &Message{Flags: f.flags, base: f.base, sub: f.sub,
		lazy: newLazyContent(m.dir, f.base, path), envMemo: newEnvelopeMemo(nil)}, nil
}

// isFilling reports whether fill runs. Its own moves from new/ to cur/
// wake the watcher, and each rescan lists the whole directory under the
// mailbox lock: during fill they are put off to one rescan at its end.
func (m *Mailbox) isFilling() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.filling
}

// fillEnded clears filling and asks for the rescan put off meanwhile.
// Called with m.mu held.
func (m *Mailbox) fillEnded() {
	m.filling = false
	select {
	case m.rescan <- struct{}{}:
	default:
	}
}

// startFill starts fill unless it runs. Called with m.mu held.
func (m *Mailbox) startFill() {
	if m.filling || m.gone {
		return
	}
	m.filling = true
	go m.fill()
}

// fill reads, newest first, the content of the messages indexed lazily
// and writes it into the index, fillBatch messages per transaction, in
// the pauses between the sessions' commands and on one core.
func (m *Mailbox) fill() {
	select {
	case <-time.After(m.a.s.fillDelay):
	case <-m.quit:
		m.mu.Lock()
		m.fillEnded()
		m.mu.Unlock()
		return
	}
	for {
		if m.awaitPause() == nil {
			m.mu.Lock()
			m.fillEnded()
			m.mu.Unlock()
			return
		}
		m.mu.Lock()
		var batch []*lazyContent
		for i := len(m.msgs) - 1; i >= 0 && len(batch) < fillBatch && !m.gone; i-- {
			if l := m.msgs[i].lazy; l != nil && !(l.done.Load() && l.failed) {
				batch = append(batch, l)
			}
		}
		if len(batch) == 0 || m.gone {
			m.fillEnded()
			m.mu.Unlock()
			return
		}
		m.mu.Unlock()

		// One file at a time, on one core: the pause fill runs in is
		// often a client's, busy with the answer it just got (decoding
		// 10,000 envelopes), and reading on both cores slowed it.
		for _, l := range batch {
			l.load()
		}

		interrupted := m.awaitPause() // the files are read; settling takes the lock
		m.mu.Lock()
		if m.gone || interrupted == nil {
			m.fillEnded()
			m.mu.Unlock()
			return
		}
		if err := m.settle(batch, interrupted); err != nil {
			m.a.s.log.Warn("store: writing message contents to the index", "mailbox", m.name, "err", err)
			m.fillEnded()
			m.mu.Unlock()
			return
		}
		m.mu.Unlock()
	}
}

// settle moves loaded content into the messages' fields, moves their files
// from new/ to cur/ as IMAP servers do once they have seen a message, and
// writes it all to the index. Called with m.mu held, as the renames must
// be (SetFlags renames too). A message whose file could not be read keeps
// its lazy content (fill skips it) and stays without envelope in the
// index. When interrupted says a command came, settle stops there and
// commits what it did: a whole batch held the lock for 2.5-5 ms (timed
// in bench/imap's child), which a command arriving meanwhile waited out.
func (m *Mailbox) settle(batch []*lazyContent, interrupted func() bool) error {
	var done []*Message
	rn := newRenamer(m.dir)
	defer rn.close()
	for _, l := range batch {
		if interrupted() {
			break
		}
		msg := m.byBase[l.base]
		if msg == nil || msg.lazy != l {
			continue // expunged meanwhile
		}
		if msg.sub == "new" {
			to := msg.base + infoSep + msg.Flags
			if err := rn.rename("new", msg.name(), "cur", to); err == nil {
				msg.sub = "cur"
				l.moved(m.Path(msg))
			}
		}
		if l.failed {
			continue
		}
		msg.env, msg.keys, msg.size, msg.date, msg.lazy = l.env, l.keys, l.size, l.date, nil
		if msg.envMemo == nil {
			msg.envMemo = newEnvelopeMemo(nil)
		}
		msg.envMemo.env.Store(l.dec) // the memo may hold the encoded envelope already
		done = append(done, msg)
	}
	if len(done) == 0 {
		return nil
	}
	return m.commit(done, nil, nil, m.next, m.modSeq) // whole entries
}
