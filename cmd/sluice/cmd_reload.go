package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sluicemail/sluice/server/config"
)

func init() {
	register(&command{
		name:    "reload",
		summary: "make the running server reload its rules (via the admin listener, else SIGHUP)",
		run:     func(args []string) int { return runReload(args, os.Stdout, os.Stderr) },
	})
}

// runReload asks the admin listener first, because it answers with the
// error when the new rules are refused; without one it sends SIGHUP to the
// pid in <data>/sluice.pid (the server logs the outcome).
func runReload(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("reload", "[--config FILE]", "Reload the rules of the running server. A broken rule set is refused and the running one stays.")
	fs.SetOutput(stderr)
	confPath := fs.String("config", "", "config file of the running server (default: the embedded default)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := loadConfig(*confPath)
	if err != nil {
		fmt.Fprintln(stderr, "sluice reload:", err)
		return 1
	}
	if cfg.Listen.Admin != "" {
		done, err := reloadHTTP(cfg)
		if done {
			if err != nil {
				fmt.Fprintln(stderr, "sluice reload:", err)
				return 1
			}
			fmt.Fprintln(stdout, "rules reloaded")
			return 0
		}
	}
	if err := reloadSignal(cfg.Data); err != nil {
		fmt.Fprintln(stderr, "sluice reload:", err)
		return 1
	}
	fmt.Fprintln(stdout, "sent SIGHUP; the server log tells whether the new rules were taken")
	return 0
}

// reloadHTTP posts to the admin listener; done is false when nothing
// answered there.
func reloadHTTP(cfg *config.Config) (done bool, err error) {
	client := &http.Client{Timeout: 2 * time.Minute}
	resp, err := client.Post("http://"+cfg.Listen.Admin+"/reload", "text/plain", nil)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return true, errors.New(strings.TrimSpace(string(body)))
	}
	return true, nil
}

func reloadSignal(data string) error {
	b, err := os.ReadFile(filepath.Join(data, pidFile))
	if err != nil {
		return fmt.Errorf("%w: %v", errNoServer, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return fmt.Errorf("%w: bad pid file", errNoServer)
	}
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		return fmt.Errorf("%w (pid %d): %v", errNoServer, pid, err)
	}
	return nil
}
