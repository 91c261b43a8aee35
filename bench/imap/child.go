package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sluice is served from a process of its own, as `sluice serve` is and
// as Dovecot is beside it. Served from the bench's own process, it shared
// one Go runtime with the client: the garbage the client makes decoding
// 10,000 envelopes was collected with the server's, on the same 2 cores,
// and every row that returns much data paid for the client's heap on
// sluice's side only. -in-process keeps the old way (for -cpuprofile of
// the server).
//
// The child is this binary run with -sluice-child DIR and the corpus
// flags: it loads the same messages, delivers them through the store and
// serves them exactly as startSluice does in-process, then answers one
// command per line on its stdin:
//
//	restart  -> "ok ADDR"   close the server and the store, open them again
//	arm 0|1  -> "ok"        time the connections accepted from now (serverClock)
//	mark     -> "ok"        a step starts
//	elapsed  -> "NS"        the step's server time in nanoseconds
//	stop                    close everything and exit (so does EOF)
//
// Its first line on stdout is "ready ADDR HASH".

// childProfile is where the child writes its CPU profile (-cpuprofile),
// "" for none.
var childProfile string

// childMain is the child's whole life; it returns the exit code.
func childMain(data, corpus string, n int) int {
	msgs, err := loadMessages(corpus, n)
	if err == nil {
		err = serveChild(data, msgs, os.Stdin, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/imap child:", err)
		return 1
	}
	return 0
}

func serveChild(data string, msgs [][]byte, in io.Reader, out io.Writer) error {
	_, _, cert, err := selfSigned()
	if err != nil {
		return err
	}
	s, hash, err := startSluice(data, msgs, benchDate, cert)
	if err != nil {
		return err
	}
	defer s.stop()
	fmt.Fprintf(out, "ready %s %s\n", s.addr, hash)
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(sc.Text(), " ")
		switch cmd {
		case "restart":
			if err := s.restart(); err != nil {
				return err
			}
			fmt.Fprintf(out, "ok %s\n", s.addr)
		case "arm":
			s.clock.arm(arg == "1")
			fmt.Fprintln(out, "ok")
		case "mark":
			s.clock.mark()
			fmt.Fprintln(out, "ok")
		case "elapsed":
			fmt.Fprintln(out, int64(s.clock.elapsed()))
		case "stop":
			return nil
		default:
			return fmt.Errorf("unknown command %q", sc.Text())
		}
	}
	return sc.Err()
}

// startSluiceProcess runs sluice in a child process (above) on a data
// directory under dir and returns its column, and the password hash it
// stored for Dovecot to check.
func startSluiceProcess(dir, corpus string, n int) (*server, string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	args := []string{"-sluice-child", filepath.Join(dir, "sluice"), "-n", strconv.Itoa(n)}
	if childProfile != "" {
		args = append(args, "-cpuprofile", childProfile)
	}
	if corpus != "" {
		args = append(args, "-corpus", corpus)
	} else {
		args = append(args, "-synthetic")
	}
	cmd := exec.Command(self, args...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, "", err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	c := &child{cmd: cmd, in: stdin, out: bufio.NewReader(stdout)}
	line, err := c.read()
	f := strings.Fields(line)
	if err == nil && (len(f) != 3 || f[0] != "ready") {
		err = fmt.Errorf("child said %q", line)
	}
	if err != nil {
		c.stop()
		return nil, "", fmt.Errorf("starting sluice: %w", err)
	}
	s := &server{name: "sluice", addr: f[1], clock: c, stop: c.stop}
	s.restart = func() error {
		addr, err := c.call("restart")
		if err == nil {
			s.addr = strings.TrimPrefix(addr, "ok ")
		}
		return err
	}
	return s, f[2], nil
}

// child is the parent's end of the child process; it is the sluice
// column's stepClock.
type child struct {
	mu   sync.Mutex
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	once sync.Once
}

func (c *child) read() (string, error) {
	line, err := c.out.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("sluice child: %w", err)
	}
	return strings.TrimSuffix(line, "\n"), nil
}

// call sends one command and returns the child's answer.
func (c *child) call(cmd string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := fmt.Fprintln(c.in, cmd); err != nil {
		return "", err
	}
	return c.read()
}

func (c *child) stop() {
	c.once.Do(func() {
		fmt.Fprintln(c.in, "stop")
		c.in.Close()
		done := make(chan error, 1)
		go func() { done <- c.cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			c.cmd.Process.Kill()
			<-done
		}
	})
}

// The stepClock of the child: each call is a round trip on its pipes,
// made outside the timed part of a step.

func (c *child) arm(on bool) {
	arg := "0"
	if on {
		arg = "1"
	}
	c.mustCall("arm " + arg)
}

func (c *child) mark() { c.mustCall("mark") }

func (c *child) elapsed() time.Duration {
	s, err := c.call("elapsed")
	ns, perr := strconv.ParseInt(s, 10, 64)
	if err != nil || perr != nil {
		fmt.Fprintln(os.Stderr, "bench/imap: sluice child's clock:", errors.Join(err, perr))
		return 0
	}
	return time.Duration(ns)
}

func (c *child) mustCall(cmd string) {
	if _, err := c.call(cmd); err != nil {
		fmt.Fprintf(os.Stderr, "bench/imap: sluice child: %s: %v\n", cmd, err)
	}
}
