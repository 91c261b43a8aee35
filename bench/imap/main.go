// Command imap benchmarks sluice's IMAP server on a large mailbox: it
// delivers n messages of the SpamAssassin corpus into one INBOX through the
// store, starts the server on loopback, and times what a mail client does
// when it opens the mailbox, with go-imap's client over TLS.
package main

import (
	"bytes"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/sluicemail/sluice/server/auth"
	"github.com/sluicemail/sluice/server/config"
	sluiceimap "github.com/sluicemail/sluice/server/imap"
	"github.com/sluicemail/sluice/server/store"
)

const (
	user     = "bench@example.org"
	password = "bench-password"
)

func main() {
	corpus := flag.String("corpus", "", "SpamAssassin corpus data directory (from bench/corpus.sh)")
	n := flag.Int("n", 10000, "messages in the mailbox")
	rounds := flag.Int("rounds", 5, "repetitions of each timed step (the median is reported)")
	flag.Parse()
	if *corpus == "" {
		fmt.Fprintln(os.Stderr, "usage: imap -corpus DIR [-n N] [-rounds R]")
		os.Exit(2)
	}
	if err := run(*corpus, *n, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "bench/imap:", err)
		os.Exit(1)
	}
}

func run(corpus string, n, rounds int) error {
	msgs, err := loadCorpus(corpus, n)
	if err != nil {
		return err
	}
	data, err := os.MkdirTemp("", "sluice-bench-imap")
	if err != nil {
		return err
	}
	defer os.RemoveAll(data)
	accts, err := auth.Open(data)
	if err != nil {
		return err
	}
	if err := accts.AddUser(user, password); err != nil {
		return err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(data, store.Options{Logger: quiet})
	if err != nil {
		return err
	}
	d := deliver(st, msgs)
	fmt.Printf("delivered %d messages (%.1f MB) in %v: %.0f msgs/s with fsync, 8 goroutines\n",
		len(msgs), float64(totalSize(msgs))/1e6, d.Round(time.Millisecond), float64(len(msgs))/d.Seconds())

	// The first login indexes the Maildir (reads every file once).
	srv, addr, err := serve(st, accts, quiet)
	if err != nil {
		return err
	}
	c, err := dial(addr)
	if err != nil {
		return err
	}
	t0 := time.Now()
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		return err
	}
	fmt.Printf("first SELECT, indexing %d new messages:  %v\n", len(msgs), time.Since(t0).Round(time.Millisecond))
	c.Close()
	srv.Close()
	st.Close()

	// A restart: the index is read from disk, the directory rescanned.
	if st, err = store.Open(data, store.Options{Logger: quiet}); err != nil {
		return err
	}
	defer st.Close()
	if srv, addr, err = serve(st, accts, quiet); err != nil {
		return err
	}
	defer srv.Close()
	if c, err = dial(addr); err != nil {
		return err
	}
	defer c.Close()
	t0 = time.Now()
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		return err
	}
	fmt.Printf("SELECT after restart (index from disk): %v\n", time.Since(t0).Round(time.Millisecond))

	var sel, fetchAll, search, searchFrom, sortDate, body []time.Duration
	var fetched, hits, fromHits int
	sortErr := error(nil)
	var bodyLen int
	for r := 0; r < rounds; r++ {
		c.Unselect().Wait()
		t := time.Now()
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			return err
		}
		sel = append(sel, time.Since(t))
		t = time.Now()
		all, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{Flags: true, Envelope: true, RFC822Size: true}).Collect()
		if err != nil {
			return err
		}
		fetchAll = append(fetchAll, time.Since(t))
		fetched = len(all)
		t = time.Now()
		res, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "mortgage"}}}, nil).Wait()
		if err != nil {
			return err
		}
		search = append(search, time.Since(t))
		hits = len(res.AllUIDs())
		t = time.Now()
		res, err = c.Search(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "From", Value: "john"}}}, nil).Wait()
		if err != nil {
			return err
		}
		searchFrom = append(searchFrom, time.Since(t))
		fromHits = len(res.AllSeqNums())
		t = time.Now()
		if _, err := c.Sort(&imapclient.SortOptions{SearchCriteria: &imap.SearchCriteria{},
			SortCriteria: []imapclient.SortCriterion{{Key: imapclient.SortKeyDate}}}).Wait(); err != nil {
			sortErr = err
		}
		sortDate = append(sortDate, time.Since(t))
		t = time.Now()
		one, err := c.Fetch(imap.SeqSetNum(uint32(len(all)/2)), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
		if err != nil || len(one) != 1 {
			return fmt.Errorf("fetch BODY[]: %v", err)
		}
		body = append(body, time.Since(t))
		for _, b := range one[0].BodySection {
			bodyLen = len(b.Bytes)
		}
	}
	fmt.Printf("SELECT INBOX (%d messages):                 %v\n", fetched, median(sel))
	fmt.Printf("FETCH 1:* (FLAGS ENVELOPE RFC822.SIZE):      %v\n", median(fetchAll))
	fmt.Printf("UID SEARCH HEADER Subject \"mortgage\":       %v (%d hits)\n", median(search), hits)
	fmt.Printf("SEARCH FROM \"john\":                         %v (%d hits)\n", median(searchFrom), fromHits)
	if sortErr != nil {
		fmt.Printf("SORT (DATE) ALL:                            not supported (%v)\n", sortErr)
	} else {
		fmt.Printf("SORT (DATE) ALL:                            %v\n", median(sortDate))
	}
	fmt.Printf("FETCH one message BODY.PEEK[] (%d bytes):   %v\n", bodyLen, median(body))
	total := median(sel) + median(fetchAll)
	verdict := "met"
	if total >= time.Second {
		verdict = "MISSED"
	}
	fmt.Printf("SELECT + full-envelope FETCH:                %v (target < 1s: %s)\n", total, verdict)
	return nil
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2].Round(100 * time.Microsecond)
}

// loadCorpus reads up to n messages, cycling through the corpus groups,
// without the mbox "From " line the files start with.
func loadCorpus(dir string, n int) ([][]byte, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*", "*.txt"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no corpus messages under %s", dir)
	}
	sort.Strings(files)
	var msgs [][]byte
	for i := 0; len(msgs) < n; i++ {
		raw, err := os.ReadFile(files[i%len(files)])
		if err != nil {
			return nil, err
		}
		if bytes.HasPrefix(raw, []byte("From ")) {
			if j := bytes.IndexByte(raw, '\n'); j >= 0 {
				raw = raw[j+1:]
			}
		}
		msgs = append(msgs, raw)
	}
	return msgs, nil
}

func totalSize(msgs [][]byte) int {
	n := 0
	for _, m := range msgs {
		n += len(m)
	}
	return n
}

// deliver stores every message through the store, as the queue does.
func deliver(st *store.Store, msgs [][]byte) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	base := time.Date(2002, 8, 1, 0, 0, 0, 0, time.UTC)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(msgs) {
					return
				}
				if err := st.Deliver(user, "INBOX", msgs[i], "", base.Add(time.Duration(i)*time.Minute)); err != nil {
					panic(err)
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

func serve(st *store.Store, accts *auth.Accounts, log *slog.Logger) (*sluiceimap.Server, string, error) {
	certPEM, keyPEM, err := config.SelfSigned("localhost")
	if err != nil {
		return nil, "", err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, "", err
	}
	srv, err := sluiceimap.New(sluiceimap.Options{Store: st, Auth: accts, Logger: log,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}})
	if err != nil {
		return nil, "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	go srv.ServeTLS(ln)
	return srv, ln.Addr().String(), nil
}

func dial(addr string) (*imapclient.Client, error) {
	c, err := imapclient.DialTLS(addr, &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		return nil, err
	}
	return c, c.Login(user, password).Wait()
}
