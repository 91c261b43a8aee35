package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sluicemail/sluice/server/auth"
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

const queueUsage = "usage: sluice queue list|retry ID...|retry all|delete ID... [--data DIR | --config FILE] [--admin HOST:PORT]"

// runQueue works on the spool directly. list works beside a running
// server (read-only); retry and delete need the server stopped, since the
// spool is locked while a server has it open.
func runQueue(args []string, stdout, stderr io.Writer) int {
	sub, ids, loc, code := spoolArgs("queue", queueUsage, args, stderr)
	if code >= 0 {
		return code
	}
	dir := loc.data
	switch {
	case sub == "list" && len(ids) == 0:
	case (sub == "retry" || sub == "delete") && len(ids) > 0:
	default:
		fmt.Fprintln(stderr, queueUsage)
		return 2
	}
	q, err := queue.Open(queue.Dir(dir), queue.Options{})
	if errors.Is(err, queue.ErrLocked) && loc.admin != "" {
		// A running server holds the spool: ask it through its admin listener.
		useAdminToken(dir)
		if code, ok := remoteQueue(loc.admin, sub, ids, stdout, stderr); ok {
			return code
		}
	}
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
	if retryAll(sub, ids) {
		ids = idsOf(q.List())
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

// where says where the spool is, and the admin listener of the server
// that may be running on it.
type where struct {
	data  string
	admin string // base URL, "" if unknown
}

// dataDirFlags adds --data and --config to fs and returns a function that
// resolves the data directory after parsing: --data wins, then the config
// file's data key, then the default ./sluice-data.
func dataDirFlags(fs *flag.FlagSet) func() (string, error) {
	w := spoolFlags(fs, false)
	return func() (string, error) {
		loc, err := w()
		return loc.data, err
	}
}

// spoolFlags is dataDirFlags plus, with admin, an --admin flag; the admin
// address comes from --admin or the config file's listen.admin.
func spoolFlags(fs *flag.FlagSet, withAdmin bool) func() (where, error) {
	data := fs.String("data", "", "data directory (default: from --config, else ./sluice-data)")
	conf := fs.String("config", "", "config file whose data directory (and admin listener) to use")
	admin := new(string)
	if withAdmin {
		admin = fs.String("admin", "", "admin listener of the running server, host:port (default: from --config)")
	}
	return func() (where, error) {
		w := where{data: *data, admin: *admin}
		if *conf != "" {
			c, err := config.Load(*conf)
			if err != nil {
				return w, err
			}
			if w.data == "" {
				w.data = c.Data
			}
			if w.admin == "" && withAdmin {
				w.admin = c.Listen.Admin
			}
		}
		if w.data == "" {
			w.data = "sluice-data"
		}
		if w.admin != "" && !strings.Contains(w.admin, "://") {
			w.admin = "http://" + w.admin
		}
		return w, nil
	}
}

// spoolArgs parses the arguments of the commands that work on the spool
// (queue, quarantine): "SUB [ID...]" with the spool flags anywhere among
// them. code is -1 when the command should go on, else the exit status to
// return, the usage or the error already printed.
func spoolArgs(name, usage string, args []string, stderr io.Writer) (sub string, ids []string, loc where, code int) {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return "", nil, loc, 2
	}
	sub = args[0]
	fs := flag.NewFlagSet("sluice "+name+" "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := spoolFlags(fs, true)
	ids, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return sub, nil, loc, 2
	}
	if loc, err = data(); err != nil {
		fmt.Fprintf(stderr, "sluice %s: %v\n", name, err)
		return sub, nil, loc, 1
	}
	return sub, ids, loc, -1
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
		return fmt.Errorf("%w\nstop the server first, or give --config/--admin so that the command asks the server", err)
	}
	return err
}

// remoteQueue runs sub through the admin listener at base. ok is false
// when the listener is unreachable or does not serve the queue, so that
// the caller falls back to the spool.
func remoteQueue(base, sub string, ids []string, stdout, stderr io.Writer) (code int, ok bool) {
	if sub == "list" {
		var list []queue.Info
		if err := adminGet(base+"/queue", &list); err != nil {
			fmt.Fprintln(stderr, "sluice queue: admin listener:", err)
			return 0, false
		}
		printQueue(stdout, list, time.Now())
		return 0, true
	}
	if retryAll(sub, ids) {
		var list []queue.Info
		if err := adminGet(base+"/queue", &list); err != nil {
			fmt.Fprintln(stderr, "sluice queue: admin listener:", err)
			return 0, false
		}
		ids = idsOf(list)
	}
	return adminPost(base, "/queue/%s/"+sub, ids, map[string]string{"retry": "will be retried at once", "delete": "deleted"}[sub], stdout, stderr)
}

// retryAll reports "retry all": every queued message, e.g. after the
// operator fixed a full disk or a broken smarthost login.
func retryAll(sub string, ids []string) bool {
	return sub == "retry" && len(ids) == 1 && ids[0] == "all"
}

func idsOf(list []queue.Info) []string {
	ids := make([]string, len(list))
	for i, in := range list {
		ids[i] = in.ID
	}
	return ids
}

var adminClient = &http.Client{Timeout: 30 * time.Second, Transport: bearerTransport{}}

// adminToken is the bearer token sent to the admin listener's console
// APIs: the command line's own, from the data directory (useAdminToken).
var adminToken string

// useAdminToken takes the command line's token from the data directory, if
// this user can read or make it; without one the server answers 401.
func useAdminToken(dataDir string) {
	if dataDir == "" {
		return
	}
	if tok, err := auth.CLIToken(dataDir); err == nil {
		adminToken = tok
	}
}

type bearerTransport struct{}

func (bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if adminToken != "" {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+adminToken)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func adminGet(url string, v any) error {
	resp, err := adminClient.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// adminPost posts one operation per id; ok is false if the listener does
// not serve it at all.
func adminPost(base, pathFmt string, ids []string, done string, stdout, stderr io.Writer) (code int, ok bool) {
	for _, id := range ids {
		resp, err := adminClient.Post(base+fmt.Sprintf(pathFmt, url.PathEscape(id)), "", nil)
		if err != nil {
			fmt.Fprintln(stderr, "sluice: admin listener:", err)
			return 0, false
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK:
			var r struct{ ID string }
			json.Unmarshal(body, &r)
			fmt.Fprintln(stdout, strings.TrimSpace(fmt.Sprintf("%s: %s %s", id, done, r.ID)))
		case resp.StatusCode == http.StatusNotFound && strings.HasPrefix(string(body), "404 page not found"):
			return 0, false // an older server without the queue endpoints
		default:
			fmt.Fprintf(stderr, "sluice: %s: %s\n", id, strings.TrimSpace(string(body)))
			code = 1
		}
	}
	return code, true
}
