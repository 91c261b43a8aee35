package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sluicemail/sluice/server/queue"
)

func init() {
	register(&command{
		name:    "quarantine",
		summary: "manage quarantined mail: list, show ID, release ID, delete ID",
		run:     func(args []string) int { return runQuarantine(args, os.Stdout, os.Stderr) },
	})
}

const quarantineUsage = "usage: sluice quarantine list|show ID|release ID...|delete ID... [--data DIR | --config FILE]"

// runQuarantine manages the held messages. list, show and delete work
// beside a running server; release queues the message, which needs the
// spool: through the running server's admin listener when one is known
// (--config or --admin), else directly with the server stopped.
func runQuarantine(args []string, stdout, stderr io.Writer) int {
	sub, ids, loc, code := spoolArgs("quarantine", quarantineUsage, args, stderr)
	if code >= 0 {
		return code
	}
	dataDir := loc.data
	dir := filepath.Join(queue.Dir(dataDir), "quarantine")
	switch {
	case sub == "list" && len(ids) == 0:
		held, err := queue.ListQuarantine(dir)
		if err != nil {
			fmt.Fprintln(stderr, "sluice quarantine:", err)
			return 1
		}
		printHeld(stdout, held, time.Now())
		return 0
	case sub == "show" && len(ids) == 1:
		_, raw, err := queue.ReadQuarantined(dir, ids[0])
		if err != nil {
			fmt.Fprintln(stderr, "sluice quarantine:", err)
			return 1
		}
		stdout.Write(raw)
		return 0
	case sub == "delete" && len(ids) > 0:
		return eachID(ids, stdout, stderr, "deleted", func(id string) (string, error) {
			return "", queue.DeleteQuarantined(dir, id)
		})
	case sub == "release" && len(ids) > 0:
		q, err := queue.Open(queue.Dir(dataDir), queue.Options{})
		if errors.Is(err, queue.ErrLocked) && loc.admin != "" {
			// A running server holds the spool: ask it to release.
			useAdminToken(dataDir)
			if code, ok := adminPost(loc.admin, "/quarantine/%s/release", ids, "released, queued as", stdout, stderr); ok {
				return code
			}
		}
		if err != nil {
			fmt.Fprintln(stderr, "sluice quarantine:", explainLocked(err))
			return 1
		}
		defer q.Close()
		return eachID(ids, stdout, stderr, "released, queued as", q.Release)
	}
	fmt.Fprintln(stderr, quarantineUsage)
	return 2
}

func eachID(ids []string, stdout, stderr io.Writer, done string, f func(string) (string, error)) int {
	status := 0
	for _, id := range ids {
		extra, err := f(id)
		if err != nil {
			fmt.Fprintln(stderr, "sluice quarantine:", err)
			status = 1
			continue
		}
		fmt.Fprintln(stdout, strings.TrimSpace(fmt.Sprintf("%s: %s %s", id, done, extra)))
	}
	return status
}

func printHeld(w io.Writer, held []queue.Held, now time.Time) {
	if len(held) == 0 {
		fmt.Fprintln(w, "quarantine is empty")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSIZE\tHELD\tFROM\tTO\tREASON")
	for _, h := range held {
		to := make([]string, len(h.Env.Rcpt))
		for i, r := range h.Env.Rcpt {
			to[i] = r.Addr
		}
		fmt.Fprintf(tw, "%s\t%d\t%s ago\t<%s>\t%s\t%s\n", h.ID, h.Size, now.Sub(h.Held).Round(time.Second),
			h.Env.From, strings.Join(to, ", "), h.Env.Reason)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d message(s)\n", len(held))
}
