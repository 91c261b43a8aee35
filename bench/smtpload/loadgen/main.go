// Command loadgen sends 5 KB messages over N parallel SMTP sessions to
// local users and reports the acceptance rate; with -maildir it also waits
// for every acknowledged message to be delivered into the Maildir and
// reports the end-to-end rate, and with -pid the server's CPU time per
// message (from /proc/PID/stat).
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sluicemail/sluice/bench/smtpload/load"
)

func main() {
	cfg := load.Config{}
	flag.StringVar(&cfg.Addr, "addr", "127.0.0.1:2525", "SMTP server")
	flag.IntVar(&cfg.Sessions, "s", 20, "parallel sessions")
	flag.IntVar(&cfg.Messages, "m", 5000, "messages")
	flag.IntVar(&cfg.Size, "l", 5120, "message size in bytes")
	flag.IntVar(&cfg.Users, "users", 20, "number of recipient users")
	flag.StringVar(&cfg.Domain, "domain", "local.test", "recipient domain")
	flag.StringVar(&cfg.From, "from", "load@sender.test", "envelope sender")
	maildir := flag.String("maildir", "", "mail root (<data>/mail) to count delivered messages in")
	pid := flag.Int("pid", 0, "server process id, for CPU time per message")
	wait := flag.Bool("wait", false, "only wait (up to 30s) until the server accepts connections")
	flag.Parse()
	if *wait {
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if c, err := net.Dial("tcp", cfg.Addr); err == nil {
				c.Close()
				return
			}
		}
		fmt.Fprintln(os.Stderr, "loadgen: nothing listens on", cfg.Addr)
		os.Exit(1)
	}
	cfg.RunID = strconv.FormatInt(time.Now().UnixNano(), 36)

	before := cpuTicks(*pid)
	base := countFiles(*maildir)
	start := time.Now()
	res := load.Run(context.Background(), cfg)
	accepted := time.Since(start)
	fmt.Printf("sessions %d, size %d B: %d accepted in %.2fs = %.0f msg/s accepted (%d failed transactions, slowest %.2fs)\n",
		cfg.Sessions, cfg.Size, len(res.Acked), accepted.Seconds(), float64(len(res.Acked))/accepted.Seconds(), res.Failed, res.Slowest.Seconds())
	if *maildir != "" {
		want := base + len(res.Acked)
		deadline := time.Now().Add(10 * time.Minute)
		n := countFiles(*maildir)
		for n < want && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			n = countFiles(*maildir)
		}
		e2e := time.Since(start)
		fmt.Printf("delivered %d/%d into the Maildir in %.2fs = %.0f msg/s end to end\n",
			n-base, len(res.Acked), e2e.Seconds(), float64(n-base)/e2e.Seconds())
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil && len(res.Acked) > 0 {
		own := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		fmt.Printf("load generator CPU %.2fs = %.2f ms per message (it shares the machine)\n",
			own.Seconds(), own.Seconds()*1000/float64(len(res.Acked)))
	}
	if *pid != 0 && len(res.Acked) > 0 {
		used := float64(cpuTicks(*pid)-before) / 100 // USER_HZ is 100 on Linux
		fmt.Printf("server CPU %.2fs = %.2f ms per message\n", used, used*1000/float64(len(res.Acked)))
	}
}

// countFiles counts the messages in new/ and cur/ of every Maildir under
// root (<root>/<domain>/<user>/{new,cur}).
func countFiles(root string) int {
	if root == "" {
		return 0
	}
	n := 0
	for _, sub := range []string{"new", "cur"} {
		dirs, _ := filepath.Glob(filepath.Join(root, "*", "*", sub))
		for _, d := range dirs {
			f, err := os.Open(d)
			if err != nil {
				continue
			}
			names, _ := f.Readdirnames(-1)
			f.Close()
			n += len(names)
		}
	}
	return n
}

// cpuTicks returns utime+stime of pid in clock ticks.
func cpuTicks(pid int) int64 {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseInt(fields[11], 10, 64)
	k, _ := strconv.ParseInt(fields[12], 10, 64)
	return u + k
}
