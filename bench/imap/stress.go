package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// defaultImaptest is where .ci/run builds Dovecot's imaptest.
func defaultImaptest() string {
	if d := os.Getenv("IMAPTEST_DIR"); d != "" {
		return filepath.Join(d, "imaptest")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "sluice-imaptest", "924f619", "imaptest")
}

// stressResult is imaptest's totals line: commands of each kind done in
// the run, by column name (Logi, Sele, Fetc, Appe, ...).
type stressResult struct {
	cols   []string
	counts []int
	errs   int
	err    error
}

// total is the number of commands of all kinds.
func (s stressResult) total() int {
	n := 0
	for _, c := range s.counts {
		n += c
	}
	return n
}

// stress runs imaptest's stress mode (its default command mix, 10 clients,
// messages appended from mbox) against addr for secs seconds, in a mailbox
// of its own so that the bench's INBOX is not expunged.
func stress(bin, addr, mbox string, secs int) stressResult {
	c, err := dial(addr, false)
	if err != nil {
		return stressResult{err: err}
	}
	err = c.Create("Stress", nil).Wait()
	c.Close()
	if err != nil {
		return stressResult{err: err}
	}
	host, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs+60)*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "host="+host, "port="+port, "ssl=any-cert",
		"user="+user, "pass="+password, "mbox="+mbox, "box=Stress", "clients=10",
		"secs="+strconv.Itoa(secs))
	cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH=/usr/lib/dovecot")
	out, err := cmd.CombinedOutput()
	res := parseStress(string(out))
	if err != nil && res.err == nil {
		res.err = fmt.Errorf("imaptest: %v", err)
	}
	if os.Getenv("BENCH_VERBOSE") != "" {
		fmt.Fprintf(os.Stderr, "imaptest output:\n%s\n", out)
	}
	return res
}

var errorLine = regexp.MustCompile(`(?m)^Error: `)

// parseStress reads the "Totals:" block at the end of imaptest's output:
// a line of column names, then a line of counts.
func parseStress(out string) stressResult {
	var res stressResult
	res.errs = len(errorLine.FindAllString(out, -1))
	_, tail, ok := strings.Cut(out, "Totals:")
	if !ok {
		res.err = fmt.Errorf("no totals in imaptest output: %.300s", out)
		return res
	}
	lines := strings.Split(strings.TrimSpace(tail), "\n")
	if len(lines) < 2 {
		res.err = fmt.Errorf("short totals: %q", tail)
		return res
	}
	res.cols = strings.Fields(lines[0])
	// Two lines of percentages follow the names; the counts are the first
	// line of integers only.
	for _, l := range lines[1:] {
		var counts []int
		for _, f := range strings.Fields(l) {
			n, err := strconv.Atoi(f)
			if err != nil {
				counts = nil
				break
			}
			counts = append(counts, n)
		}
		if len(counts) == len(res.cols) {
			res.counts = counts
			return res
		}
	}
	res.err = fmt.Errorf("no counts in totals: %q", tail)
	return res
}
