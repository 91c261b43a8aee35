// Command imap benchmarks sluice's IMAP server beside Dovecot on the same
// large mailbox: it delivers n messages (the SpamAssassin corpus, or
// synthetic 5 KB messages) into sluice's store and into a Maildir that a
// throw-away Dovecot serves, then times, over implicit TLS on loopback with
// go-imap's client, what a mail client does on both servers and prints one
// table with a sluice/Dovecot ratio column. Last, imaptest's stress mode
// runs against each.
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
	"runtime/pprof"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/goccy/go-yaml"

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
	synthetic := flag.Bool("synthetic", false, "use synthetic 5 KB messages instead of the corpus")
	n := flag.Int("n", 10000, "messages in the mailbox")
	rounds := flag.Int("rounds", 3, "repetitions of each warm step (the median is reported)")
	appends := flag.Int("appends", 1000, "5 KB messages APPENDed one by one")
	stressSecs := flag.Int("stress", 30, "seconds of imaptest stress mode per server (0: skip)")
	imaptestBin := flag.String("imaptest", defaultImaptest(), "imaptest binary (.ci/run builds it)")
	flag.BoolVar(&appendNagle, "append-nagle", true, "APPEND over a client socket with Nagle's algorithm on (a C client's default)")
	noDovecot := flag.Bool("no-dovecot", false, "measure sluice alone")
	flag.BoolVar(&dovecotCur, "dovecot-cur", false, "give Dovecot its Maildir in cur/, as if it had seen the messages before (sluice's are in new/, as delivered)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the bench's process to this file, and of sluice's child process to this file + \".sluice\"")
	inProcess := flag.Bool("in-process", false, "serve sluice from the bench's own process, not a child process")
	childData := flag.String("sluice-child", "", "(internal) serve sluice on this data directory as the bench's child process")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench/imap:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
		childProfile = *cpuProfile + ".sluice"
	}
	if *childData != "" {
		code := childMain(*childData, *corpus, *n)
		pprof.StopCPUProfile()
		os.Exit(code)
	}
	if *corpus == "" && !*synthetic {
		fmt.Fprintln(os.Stderr, "usage: imap (-corpus DIR | -synthetic) [-n N] [-rounds R] [-appends N] [-stress SECS] [-no-dovecot]")
		os.Exit(2)
	}
	if err := run(*corpus, *n, *rounds, *appends, *stressSecs, *imaptestBin, !*noDovecot, *inProcess); err != nil {
		fmt.Fprintln(os.Stderr, "bench/imap:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// server is one side of the table: where it listens and how to restart it
// (for the cold open from the index on disk).
type server struct {
	name    string
	addr    string
	restart func() error
	stop    func()
	clock   stepClock // nil: no server-side time (Dovecot)
}

// stepClock is sluice's server-side time of a step: a serverClock in this
// process, or a child's (child.go).
type stepClock interface {
	arm(on bool) // time the connections accepted from now on, or stop
	mark()
	elapsed() time.Duration
}

// result is one server's column.
type result struct {
	first, restarted time.Duration
	warm             []row
	appendD          time.Duration
	appendErr        error
	stress           stressResult
}

func run(corpus string, n, rounds, appends, stressSecs int, imaptestBin string, withDovecot, inProcess bool) error {
	msgs, err := loadMessages(corpus, n)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "sluice-bench-imap")
	if err != nil {
		return err
	}
	if os.Getenv("BENCH_KEEP") == "" {
		os.Chmod(tmp, 0o755) // Dovecot's auth and mail processes run as nobody
		defer os.RemoveAll(tmp)
	} else {
		fmt.Fprintln(os.Stderr, "keeping", tmp)
	}
	certPEM, keyPEM, cert, err := selfSigned()
	if err != nil {
		return err
	}
	date := benchDate
	var sl *server
	var hash string
	if inProcess {
		sl, hash, err = startSluice(filepath.Join(tmp, "sluice"), msgs, date, cert)
	} else {
		sl, hash, err = startSluiceProcess(tmp, corpus, n)
	}
	if err != nil {
		return err
	}
	defer sl.stop()
	servers := []*server{sl}
	if withDovecot {
		dv, err := startDovecot(filepath.Join(tmp, "dovecot"), msgs, date, hash, certPEM, keyPEM)
		if err != nil {
			return err
		}
		defer dv.stop()
		servers = append(servers, dv)
	}
	mbox := filepath.Join(tmp, "stress.mbox")
	if err := writeMbox(mbox, msgs[:min(len(msgs), 1000)]); err != nil {
		return err
	}
	appendMsg := synthesize(1)[0]

	results := make([]result, len(servers))
	for i, s := range servers {
		r := &results[i]
		// Each server starts on a disk with nothing left to write back:
		// the setup wrote 20,000 message files (sluice's delivered with
		// fsync, Dovecot's without), and the first server timed competed
		// with the kernel writing back what the setup left dirty.
		syscall.Sync()
		fmt.Fprintf(os.Stderr, "%s: cold open...\n", s.name)
		if r.first, err = coldOpen(s.addr); err != nil {
			return fmt.Errorf("%s: first open: %w", s.name, err)
		}
		if err := s.restart(); err != nil {
			return fmt.Errorf("%s: restart: %w", s.name, err)
		}
		if r.restarted, err = coldOpen(s.addr); err != nil {
			return fmt.Errorf("%s: open after restart: %w", s.name, err)
		}
		fmt.Fprintf(os.Stderr, "%s: warm steps...\n", s.name)
		if r.warm, err = warmRows(s.addr, rounds, s.clock); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		fmt.Fprintf(os.Stderr, "%s: %d APPENDs...\n", s.name, appends)
		r.appendD, r.appendErr = appendRun(s.addr, appendMsg, appends)
		if stressSecs > 0 {
			fmt.Fprintf(os.Stderr, "%s: imaptest stress %d s...\n", s.name, stressSecs)
			r.stress = stress(imaptestBin, s.addr, mbox, stressSecs)
		}
	}
	printTable(os.Stdout, servers, results, len(msgs), totalSize(msgs), appends, stressSecs)
	return nil
}

// startSluice delivers msgs through the store (as the queue does) and
// serves them; it returns the bcrypt hash it stored for the user, so that
// Dovecot checks the same scheme.
func startSluice(data string, msgs [][]byte, date func(int) time.Time, cert tls.Certificate) (*server, string, error) {
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, "", err
	}
	accts, err := auth.Open(data)
	if err != nil {
		return nil, "", err
	}
	if err := accts.AddUser(user, password); err != nil {
		return nil, "", err
	}
	hash, err := storedHash(accts.Path())
	if err != nil {
		return nil, "", err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("BENCH_VERBOSE") != "" { // the cause of a stress error is only in sluice's log
		quiet = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	st, err := store.Open(data, store.Options{Logger: quiet})
	if err != nil {
		return nil, "", err
	}
	d := deliver(st, msgs, date)
	fmt.Fprintf(os.Stderr, "sluice: delivered %d messages (%.1f MB) in %v\n", len(msgs), float64(totalSize(msgs))/1e6, d.Round(time.Millisecond))
	clock := new(serverClock)
	s := &server{name: "sluice", clock: clock}
	var srv *sluiceimap.Server
	listen := func() error {
		var err error
		srv, s.addr, err = serve(st, accts, quiet, cert, clock)
		return err
	}
	s.stop = func() {
		srv.Close()
		st.Close()
	}
	s.restart = func() error {
		s.stop()
		var err error
		if st, err = store.Open(data, store.Options{Logger: quiet}); err != nil {
			return err
		}
		return listen()
	}
	return s, hash, listen()
}

// storedHash reads the user's password hash from the accounts file.
func storedHash(path string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var f struct {
		Users map[string]struct {
			Password string `yaml:"password"`
		} `yaml:"users"`
	}
	if err := yaml.Unmarshal(raw, &f); err != nil {
		return "", err
	}
	h := f.Users[user].Password
	if h == "" {
		return "", fmt.Errorf("no hash for %s in %s", user, path)
	}
	return h, nil
}

func startDovecot(dir string, msgs [][]byte, date func(int) time.Time, hash string, certPEM, keyPEM []byte) (*server, error) {
	d, err := newDovecot(dir, user, hash, certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	if err := writeMaildir(d.maildir(user), msgs, date); err != nil {
		return nil, err
	}
	if err := d.start(); err != nil {
		return nil, err
	}
	return &server{name: "Dovecot", addr: d.addr, stop: d.stop, restart: func() error {
		d.stop()
		return d.start()
	}}, nil
}

// selfSigned is a throw-away certificate for localhost, as PEM (for
// Dovecot) and parsed (for sluice).
func selfSigned() (certPEM, keyPEM []byte, cert tls.Certificate, err error) {
	if certPEM, keyPEM, err = config.SelfSigned("localhost"); err == nil {
		cert, err = tls.X509KeyPair(certPEM, keyPEM)
	}
	return certPEM, keyPEM, cert, err
}

// loadMessages is the mailbox: n messages of the corpus, or synthetic
// ones when corpus is "".
func loadMessages(corpus string, n int) ([][]byte, error) {
	if corpus == "" {
		return synthesize(n), nil
	}
	return loadCorpus(corpus, n)
}

// benchDate is the internal date of the i-th message, the same on both
// servers.
func benchDate(i int) time.Time {
	return time.Date(2002, 8, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
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
func deliver(st *store.Store, msgs [][]byte, date func(int) time.Time) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(msgs) {
					return
				}
				if err := st.Deliver(user, "INBOX", msgs[i], "", date(i)); err != nil {
					panic(err)
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

func serve(st *store.Store, accts *auth.Accounts, log *slog.Logger, cert tls.Certificate, clock *serverClock) (*sluiceimap.Server, string, error) {
	srv, err := sluiceimap.New(sluiceimap.Options{Store: st, Auth: accts, Logger: log,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}})
	if err != nil {
		return nil, "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	go srv.ServeTLS(clock.listener(ln))
	return srv, ln.Addr().String(), nil
}
