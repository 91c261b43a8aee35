// Command driver is the crash test: it starts a mail server, sends
// messages over parallel SMTP sessions without pause, kills the server
// with SIGKILL at random moments and restarts it, and at the end checks
// that every message that got a 250 is in a Maildir. It reports messages
// acknowledged, found, missing and duplicated, and exits 1 if any
// acknowledged message is missing.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sluicemail/sluice/bench/smtpload/load"
)

func main() {
	server := flag.String("server", "", "server command line, e.g. \"harness -data DIR -listen ADDR\"")
	addr := flag.String("addr", "127.0.0.1:2525", "SMTP address of the server")
	maildir := flag.String("maildir", "", "mail root to check (<data>/mail)")
	kills := flag.Int("kills", 20, "number of SIGKILLs")
	minGap := flag.Duration("min", 300*time.Millisecond, "shortest run between kills")
	maxGap := flag.Duration("max", 2*time.Second, "longest run between kills")
	sessions := flag.Int("s", 10, "parallel SMTP sessions")
	size := flag.Int("l", 5120, "message size")
	users := flag.Int("users", 10, "recipient users")
	domain := flag.String("domain", "local.test", "recipient domain")
	journalDir := flag.String("journal", "", "verdict journal to check too (<data>/journal, sluice serve only)")
	flag.Parse()
	if *server == "" || *maildir == "" {
		flag.Usage()
		os.Exit(2)
	}
	argv := strings.Fields(*server)

	srv := start(argv, *addr)
	ctx, stopLoad := context.WithCancel(context.Background())
	results := make(chan *load.Result, 1)
	go func() {
		results <- load.Run(ctx, load.Config{Addr: *addr, Sessions: *sessions, Size: *size, Users: *users,
			Domain: *domain, From: "crash@sender.test", RunID: strconv.FormatInt(time.Now().UnixNano(), 36)})
	}()
	for i := 1; i <= *kills; i++ {
		time.Sleep(*minGap + rand.N(*maxGap-*minGap+1))
		srv.Process.Signal(syscall.SIGKILL)
		srv.Wait()
		fmt.Printf("kill %d/%d (pid %d)\n", i, *kills, srv.Process.Pid)
		srv = start(argv, *addr)
	}
	time.Sleep(*minGap)
	stopLoad()
	res := <-results
	fmt.Printf("load stopped: %d messages acknowledged, %d failed transactions (connections cut by the kills), %d cut after the data was sent\n",
		len(res.Acked), res.Failed, res.Ambiguous)

	// Give the last server time to deliver what it recovered.
	var counts map[string]int
	deadline := time.Now().Add(3 * time.Minute)
	for {
		counts = scan(*maildir)
		if missing(res.Acked, counts) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	srv.Process.Signal(syscall.SIGTERM)
	srv.Wait()

	found, dups, extra := 0, 0, 0
	ackedSet := map[string]bool{}
	for _, id := range res.Acked {
		ackedSet[id] = true
		if counts[id] > 0 {
			found++
		}
	}
	for id, n := range counts {
		if n > 1 {
			dups += n - 1
		}
		if !ackedSet[id] {
			extra++
		}
	}
	miss := len(res.Acked) - found
	damaged := checkBodies(*maildir)
	fmt.Printf("RESULT kills=%d acked=%d found=%d missing=%d duplicates=%d (client resends after a lost reply: up to %d) stored-without-250=%d damaged=%d\n",
		*kills, len(res.Acked), found, miss, dups, res.Ambiguous, extra, damaged)
	if *journalDir != "" && checkJournal(*journalDir, res.Acked) > 0 {
		os.Exit(1)
	}
	if miss > 0 || damaged > 0 {
		os.Exit(1)
	}
}

// start runs the server and waits until it accepts connections.
func start(argv []string, addr string) *exec.Cmd {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "driver:", err)
		os.Exit(2)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return cmd
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Fprintln(os.Stderr, "driver: server did not start listening on", addr)
	cmd.Process.Kill()
	os.Exit(2)
	return nil
}

func missing(acked []string, counts map[string]int) int {
	n := 0
	for _, id := range acked {
		if counts[id] == 0 {
			n++
		}
	}
	return n
}

// scan counts the Message-IDs of every message under the mail root.
func scan(root string) map[string]int {
	counts := map[string]int{}
	for _, sub := range []string{"new", "cur"} {
		files, _ := filepath.Glob(filepath.Join(root, "*", "*", sub, "*"))
		for _, f := range files {
			if id := messageID(f); id != "" {
				counts[id]++
			}
		}
	}
	return counts
}

// checkBodies counts the delivered messages that are not whole: a body
// that is not made of complete load.BodyLine lines.
func checkBodies(root string) int {
	bad := 0
	for _, sub := range []string{"new", "cur"} {
		files, _ := filepath.Glob(filepath.Join(root, "*", "*", sub, "*"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			_, body, ok := bytes.Cut(b, []byte("\r\n\r\n"))
			if err != nil || !ok || len(body) == 0 || len(body)%len(load.BodyLine) != 0 ||
				!bytes.Equal(body, bytes.Repeat([]byte(load.BodyLine), len(body)/len(load.BodyLine))) {
				fmt.Println("damaged:", f)
				bad++
			}
		}
	}
	return bad
}

func messageID(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	r := bufio.NewReader(io.LimitReader(f, 8192))
	for {
		line, err := r.ReadBytes('\n')
		if v, ok := bytes.CutPrefix(line, []byte("Message-ID:")); ok {
			return string(bytes.TrimSpace(v))
		}
		if err != nil || len(bytes.TrimSpace(line)) == 0 {
			return ""
		}
	}
}
