package main

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sluicemail/sluice/server/auth"
	"github.com/sluicemail/sluice/server/migrate"
	"github.com/sluicemail/sluice/server/store"
)

// imapRun holds what the users' imports of one `sluice import imap`
// share: the store, the accounts, the progress line and the output.
type imapRun struct {
	st     *store.Store
	accts  *auth.Accounts
	dir    string
	verify bool
	many   bool // --passwords: output blocks are named by user
	p      *importProgress
	stdout io.Writer
	stderr io.Writer
	mu     sync.Mutex // one user's block of output at a time
}

// imapOutcome is what one user's import came to.
type imapOutcome struct {
	msgs     int
	copied   int64
	complete bool
}

// imapJobFromFlags is the job of `--from imap://USER@HOST --user ADDRESS`.
func imapJobFromFlags(stdin io.Reader, stderr io.Writer, from, user string, pwStdin, insecure bool) ([]imapJob, error) {
	pw, err := sourcePassword(stdin, stderr, pwStdin)
	if err != nil {
		return nil, err
	}
	return []imapJob{{source: migrate.IMAPSource{URL: from, Password: pw, Insecure: insecure}, user: auth.Normalize(user)}}, nil
}

// imapJobsFromFile makes one job per line of a --passwords file, each
// logging in to the server of from as that line's source user.
func imapJobsFromFile(path, from string, insecure bool) ([]imapJob, []error, error) {
	u, err := url.Parse(from)
	if err != nil {
		return nil, nil, fmt.Errorf("--from %q: %w", from, err)
	}
	if u.User != nil {
		return nil, nil, fmt.Errorf("--from %q: with --passwords, name the server only (imap[s]://HOST:PORT); the users come from %s", from, path)
	}
	users, bad, err := migrate.ReadIMAPUsers(path)
	if err != nil {
		return nil, nil, err
	}
	if len(users)+len(bad) == 0 {
		return nil, nil, fmt.Errorf("%s names no users", path)
	}
	var jobs []imapJob
	for _, l := range users {
		u.User = url.User(l.Source)
		jobs = append(jobs, imapJob{line: l.Line, user: auth.Normalize(l.User),
			source: migrate.IMAPSource{URL: u.String(), Password: l.Password, Insecure: insecure}})
	}
	return jobs, bad, nil
}

// one runs the single user of --user, its lines straight to the output.
func (r *imapRun) one(j imapJob) int {
	o := r.copy(j, r.stdout, r.stderr)
	if !o.complete {
		return 1
	}
	return 0
}

// all copies every user of a --passwords file, jobs users at a time.
// Lines naming the same sluice account run one after the other, never
// side by side, as they write the same checkpoint and mailboxes. It ends
// with a line per incomplete user; exit 0 only when every user (and
// every line of the file, badLines of which could not be read) is
// complete.
func (r *imapRun) all(todo []imapJob, jobs, badLines int) int {
	groups := groupByUser(todo)
	start := time.Now()
	var (
		wg       sync.WaitGroup
		sem      = make(chan struct{}, jobs)
		mu       sync.Mutex
		total    imapOutcome
		failed   []string
		complete int
	)
	for _, g := range groups {
		wg.Add(1)
		go func(g []imapJob) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			for _, j := range g {
				var out, errOut bytes.Buffer
				o := r.copy(j, &out, &errOut)
				r.p.userDone()
				r.mu.Lock()
				r.p.clear()
				r.stdout.Write(out.Bytes())
				r.stderr.Write(errOut.Bytes())
				r.mu.Unlock()
				mu.Lock()
				total.msgs += o.msgs
				total.copied += o.copied
				if o.complete {
					complete++
				} else {
					failed = append(failed, fmt.Sprintf("%s (line %d)", j.user, j.line))
				}
				mu.Unlock()
			}
		}(g)
	}
	wg.Wait()
	r.p.finish()
	took := time.Since(start)
	fmt.Fprintf(r.stdout, "%d of %d users complete: %d messages (%s) copied in %.1fs: %.1f msg/s, %.2f MB/s\n",
		complete, len(todo)+badLines, total.msgs, humanBytes(total.copied), took.Seconds(),
		float64(total.msgs)/took.Seconds(), float64(total.copied)/(1<<20)/took.Seconds())
	if len(failed) > 0 || badLines > 0 {
		if badLines > 0 {
			failed = append(failed, fmt.Sprintf("%d lines of the passwords file", badLines))
		}
		fmt.Fprintf(r.stdout, "INCOMPLETE: %s\n", strings.Join(failed, ", "))
		return 1
	}
	return 0
}

// groupByUser puts the jobs of each sluice account together, in the
// order of the file.
func groupByUser(todo []imapJob) [][]imapJob {
	at := map[string]int{}
	var groups [][]imapJob
	for _, j := range todo {
		i, ok := at[j.user]
		if !ok {
			i = len(groups)
			at[j.user] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], j)
	}
	return groups
}

// copy runs one user's import and writes its summary to out and its
// errors to errOut: a failure (no such account, the source unreachable,
// a wrong password) is one clear line.
func (r *imapRun) copy(j imapJob, out, errOut io.Writer) imapOutcome {
	name := "sluice import imap:"
	if r.many {
		name = fmt.Sprintf("sluice import imap: %s (line %d):", j.user, j.line)
	}
	fail := func(err error) imapOutcome { fmt.Fprintln(errOut, name, err); return imapOutcome{} }
	if !r.accts.Exists(j.user) {
		return fail(fmt.Errorf("%s is not an account in %s (sluice import accounts, or sluice user add)", j.user, r.dir))
	}
	c, source, err := j.source.Dial()
	if err != nil {
		return fail(err)
	}
	defer c.Close()
	var copied int64
	ii := &migrate.IMAPImporter{Store: r.st, User: j.user, Source: source, Verify: r.verify,
		Total:    r.p.folder,
		Progress: func(b int64) { copied += b; r.p.message(b) }}
	start := time.Now()
	results, err := ii.Run(c)
	if !r.many {
		r.p.finish() // the bar's last state, before the summary
	}
	label := ""
	if r.many {
		label = j.user + ": "
	}
	o := imapOutcome{copied: copied}
	o.msgs, o.complete = importIMAPSummary(out, errOut, label, j.user, results, err, copied, time.Since(start))
	return o
}
