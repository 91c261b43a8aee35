package main

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// dial opens an implicit-TLS session and logs in. With nagle the client
// socket keeps the kernel's default (Nagle's algorithm on), as a C client
// that never sets TCP_NODELAY has; Go's dialer turns it off otherwise.
func dial(addr string, nagle bool) (*imapclient.Client, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	if nagle {
		if err := conn.(*net.TCPConn).SetNoDelay(false); err != nil {
			conn.Close()
			return nil, err
		}
	}
	tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"})
	if err := tc.Handshake(); err != nil {
		conn.Close()
		return nil, err
	}
	c := imapclient.New(countingConn{tc}, nil)
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.Login(user, password).Wait(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// coldOpen is what a client does when it opens the mailbox: connect, TLS,
// LOGIN, SELECT INBOX and FETCH the newest 50 envelopes (the first screen).
func coldOpen(addr string) (time.Duration, error) {
	t := time.Now()
	c, err := dial(addr, false)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	dialed := time.Now()
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		return 0, err
	}
	selected := time.Now()
	defer func() {
		if os.Getenv("BENCH_VERBOSE") != "" {
			fmt.Fprintf(os.Stderr, "  cold open: connect+TLS+LOGIN %v, SELECT %v, FETCH 50 envelopes %v\n",
				dialed.Sub(t).Round(time.Millisecond), selected.Sub(dialed).Round(time.Millisecond),
				time.Since(selected).Round(time.Millisecond))
		}
	}()
	from := uint32(1)
	if sel.NumMessages > 50 {
		from = sel.NumMessages - 49
	}
	if _, err := c.Fetch(imap.SeqSet{{Start: from, Stop: sel.NumMessages}}, &imap.FetchOptions{Flags: true, Envelope: true, RFC822Size: true}).Collect(); err != nil {
		return 0, err
	}
	return time.Since(t), nil
}

// row is one timed step: its median over the rounds and a note (hit
// counts) to check that both servers did the same work.
type row struct {
	name string
	d    time.Duration
	srv  time.Duration // median server time (serverClock), 0 without a clock
	note string
	err  error
}

// warmRows times each step of a session on the open mailbox, rounds times.
func warmRows(addr string, rounds int, clock stepClock) ([]row, error) {
	if clock != nil {
		clock.arm(true) // this session's connection is timed
		defer clock.arm(false)
	}
	c, err := dial(addr, false)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		return nil, err
	}
	seen := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen}}
	unseen := &imap.StoreFlags{Op: imap.StoreFlagsDel, Flags: []imap.Flag{imap.FlagSeen}, Silent: true}
	steps := []struct {
		name string
		run  func() (string, error)
		undo func() error // untimed, after the step: puts the mailbox back
	}{
		{name: "warm SELECT INBOX", run: func() (string, error) {
			if err := c.Unselect().Wait(); err != nil {
				return "", err
			}
			sel, err := c.Select("INBOX", nil).Wait()
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%d msgs", sel.NumMessages), nil
		}},
		{name: "FETCH 1:* (FLAGS ENVELOPE RFC822.SIZE)", run: func() (string, error) {
			all, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{Flags: true, Envelope: true, RFC822Size: true}).Collect()
			return fmt.Sprintf("%d msgs", len(all)), err
		}},
		{name: `UID SEARCH HEADER Subject "mortgage"`, run: func() (string, error) {
			res, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "mortgage"}}}, nil).Wait()
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%d hits", len(res.AllUIDs())), nil
		}},
		{name: `SEARCH FROM "john"`, run: func() (string, error) {
			res, err := c.Search(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "From", Value: "john"}}}, nil).Wait()
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%d hits", len(res.AllSeqNums())), nil
		}},
		{name: "SORT (DATE) UTF-8 ALL", run: func() (string, error) {
			res, err := c.Sort(&imapclient.SortOptions{SearchCriteria: &imap.SearchCriteria{},
				SortCriteria: []imapclient.SortCriterion{{Key: imapclient.SortKeyDate}}}).Wait()
			return fmt.Sprintf("%d msgs", len(res)), err
		}},
		{name: "FETCH 1:100 BODY.PEEK[]", run: func() (string, error) {
			msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 100}}, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
			n := 0
			for _, m := range msgs {
				for _, b := range m.BodySection {
					n += len(b.Bytes)
				}
			}
			return fmt.Sprintf("%d KB", n/1024), err
		}},
		{name: `STORE 1:* +FLAGS (\Seen)`, run: func() (string, error) {
			res, err := c.Store(imap.SeqSet{{Start: 1, Stop: 0}}, seen, nil).Collect()
			return fmt.Sprintf("%d msgs", len(res)), err
		}, undo: func() error {
			// A pause first, as a user's next command comes: sluice
			// renames the files to their flags in the pauses after
			// STORE answered (server/store/flagrename.go); undone at
			// once, it would have nothing to rename.
			time.Sleep(time.Second)
			return c.Store(imap.SeqSet{{Start: 1, Stop: 0}}, unseen, nil).Close()
		}},
	}
	var rows []row
	for _, s := range steps {
		var ds, srv []time.Duration
		r := row{name: s.name}
		read0 := clientRead.Load()
		for i := 0; i < rounds && r.err == nil; i++ {
			if clock != nil {
				clock.mark()
			}
			t := time.Now()
			r.note, r.err = s.run()
			ds = append(ds, time.Since(t))
			if clock != nil {
				srv = append(srv, clock.elapsed())
			}
			if s.undo != nil && r.err == nil {
				r.err = s.undo()
			}
		}
		r.d = median(ds)
		if len(srv) > 0 {
			r.srv = median(srv)
		}
		if os.Getenv("BENCH_VERBOSE") != "" {
			fmt.Fprintf(os.Stderr, "  %s: rounds %v, server %v, %d bytes a round\n", s.name, roundAll(ds), roundAll(srv),
				(clientRead.Load()-read0)/int64(max(len(ds), 1)))
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// clientRead counts the bytes the client read from the server (after
// TLS): BENCH_VERBOSE prints them, to tell a server that answers more
// slowly from one that answers at more length.
var clientRead atomic.Int64

type countingConn struct{ net.Conn }

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	clientRead.Add(int64(n))
	return n, err
}

// roundAll rounds each of ds to 0.1 ms, for printing.
func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(100 * time.Microsecond)
	}
	return out
}

// appendNagle is the -append-nagle flag.
var appendNagle = true

// appendRun APPENDs n copies of msg one after another (each waits for its
// tagged OK, as a client moving mail does) into a fresh mailbox, over a
// socket with Nagle's algorithm on.
func appendRun(addr string, msg []byte, n int) (time.Duration, error) {
	c, err := dial(addr, appendNagle)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	box := "Append" + strings.ReplaceAll(time.Now().Format("150405.000"), ".", "")
	if err := c.Create(box, nil).Wait(); err != nil {
		return 0, err
	}
	t := time.Now()
	for i := 0; i < n; i++ {
		cmd := c.Append(box, int64(len(msg)), nil)
		if _, err := cmd.Write(msg); err != nil {
			return 0, err
		}
		if err := cmd.Close(); err != nil {
			return 0, err
		}
		if _, err := cmd.Wait(); err != nil {
			return 0, err
		}
	}
	return time.Since(t), nil
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2].Round(100 * time.Microsecond)
}
