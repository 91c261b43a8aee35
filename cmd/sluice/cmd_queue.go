package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sluicemail/sluice/server/config"
	"github.com/sluicemail/sluice/server/queue"
)

func init() {
	register(&command{
		name:    "queue",
		summary: "inspect and steer the mail queue: list, retry ID, delete ID",
		run:     func(args []string) int { return runQueue(args, os.Stdout, os.Stderr) },
	})
}

const queueUsage = "usage: sluice queue list|retry ID...|delete ID... [--data DIR | --config FILE]"

// runQueue works on the spool directly. list works beside a running
// server (read-only); retry and delete need the server stopped, since the
// spool is locked while a server has it open.
func runQueue(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, queueUsage)
		return 2
	}
	sub := args[0]
	fs := flag.NewFlagSet("sluice queue "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := dataDirFlags(fs)
	ids, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return 2
	}
	dir, err := data()
	if err != nil {
		fmt.Fprintln(stderr, "sluice queue:", err)
		return 1
	}
	switch {
	case sub == "list" && len(ids) == 0:
	case (sub == "retry" || sub == "delete") && len(ids) > 0:
	default:
		fmt.Fprintln(stderr, queueUsage)
		return 2
	}
	q, err := queue.Open(queue.Dir(dir), queue.Options{})
	if errors.Is(err, queue.ErrLocked) && sub == "list" {
		// A running server holds the spool: a read-only look is safe.
		if q, err = queue.Open(queue.Dir(dir), queue.Options{ReadOnly: true}); err == nil {
			fmt.Fprintln(stderr, "(the server is running: this is a read-only view of its spool)")
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "sluice queue:", explainLocked(err))
		return 1
	}
	defer q.Close()
	if sub == "list" {
		printQueue(stdout, q.List(), time.Now())
		return 0
	}
	status := 0
	for _, id := range ids {
		var err error
		if sub == "retry" {
			err = q.Retry(id)
		} else {
			err = q.Delete(id)
		}
		if err != nil {
			fmt.Fprintf(stderr, "sluice queue %s: %v\n", sub, err)
			status = 1
			continue
		}
		fmt.Fprintf(stdout, "%s: %s\n", id, map[string]string{"retry": "will be retried at once", "delete": "deleted"}[sub])
	}
	return status
}

func printQueue(w io.Writer, list []queue.Info, now time.Time) {
	if len(list) == 0 {
		fmt.Fprintln(w, "queue is empty")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSIZE\tAGE\tTRIES\tNEXT\tFROM\tTO (PENDING)")
	for _, in := range list {
		next := "now"
		if in.Next.After(now) {
			next = "in " + in.Next.Sub(now).Round(time.Second).String()
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\t<%s>\t%s\n", in.ID, in.Size, now.Sub(in.Env.Received).Round(time.Second),
			in.Attempts, next, in.Env.From, strings.Join(in.Pending, ", "))
		if in.LastErr != "" {
			fmt.Fprintf(tw, "\t\t\t\t\t\tlast error: %s\n", in.LastErr)
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "%d message(s)\n", len(list))
}

// dataDirFlags adds --data and --config to fs and returns a function that
// resolves the data directory after parsing: --data wins, then the config
// file's data key, then the default ./sluice-data.
func dataDirFlags(fs *flag.FlagSet) func() (string, error) {
	data := fs.String("data", "", "data directory (default: from --config, else ./sluice-data)")
	conf := fs.String("config", "", "config file whose data directory to use")
	return func() (string, error) {
		switch {
		case *data != "":
			return *data, nil
		case *conf != "":
			c, err := config.Load(*conf)
			if err != nil {
				return "", err
			}
			return c.Data, nil
		}
		return "sluice-data", nil
	}
}

// parseInterspersed parses flags wherever they are among the arguments
// ("retry ID --data DIR" as well as "retry --data DIR ID").
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func explainLocked(err error) error {
	if errors.Is(err, queue.ErrLocked) {
		return fmt.Errorf("%w\nstop the server first: this command edits the spool directly", err)
	}
	return err
}
