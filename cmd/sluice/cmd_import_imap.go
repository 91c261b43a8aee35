package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/sluicemail/sluice/server/auth"
	"github.com/sluicemail/sluice/server/migrate"
	"github.com/sluicemail/sluice/server/store"
)

func init() { importers["imap"] = runImportIMAP }

const importIMAPUsage = `usage: sluice import imap [--config FILE | --data DIR] --from imap[s]://USER@HOST:PORT --user ADDRESS [--password-stdin] [--insecure] [--verify] [--timeout D]
       sluice import imap [--config FILE | --data DIR] --from imap[s]://HOST:PORT --passwords FILE [--jobs N] [--insecure] [--verify] [--timeout D]

Copy a user's mail from the old server over IMAP: every folder (Sent,
Drafts, Junk, Trash, Archive found by SPECIAL-USE; others by name), every
message with its date, flags and keywords. A re-run copies only what is
new (Message-ID + date + size within a folder); an interrupted run
resumes. --verify copies nothing and only compares. The summary gives,
per folder, the messages on the source and those present in sluice; the
exit status is 0 only when every folder is complete.

--passwords FILE copies many users, --jobs of them at a time. Each line
of FILE is "SOURCE-USER SLUICE-ADDRESS PASSWORD" (the password runs to
the end of the line; # starts a comment line). FILE must not be open to
group or others (chmod 600). A user that fails (wrong password, a line
that cannot be read) is named and the others go on; the exit status is
0 only when every user is complete.`

// imapJob is one user's import: the old server's login and the sluice
// account it goes to. line is the --passwords line (0 for --user).
type imapJob struct {
	line   int
	source migrate.IMAPSource
	user   string
}

// runImportIMAP copies the mailboxes of one user, or of every user of a
// --passwords file, from a live IMAP server.
func runImportIMAP(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sluice import imap", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, importIMAPUsage+"\n\nflags:"); fs.PrintDefaults() }
	data := dataDirFlags(fs)
	from := fs.String("from", "", "the old server: imap[s]://USER@HOST:PORT (imap[s]://HOST:PORT with --passwords)")
	user := fs.String("user", "", "the sluice account to copy into")
	pwStdin := fs.Bool("password-stdin", false, "read the old server's password from the first line of standard input")
	passwords := fs.String("passwords", "", "copy every user of FILE (lines: SOURCE-USER SLUICE-ADDRESS PASSWORD)")
	jobs := fs.Int("jobs", 4, "with --passwords: users copied at the same time")
	insecure := fs.Bool("insecure", false, "accept any certificate, and a plain imap:// login without STARTTLS")
	verify := fs.Bool("verify", false, "copy nothing: compare the source with what sluice has")
	quiet := fs.Bool("quiet", false, "no progress bar")
	timeout := fs.Duration("timeout", migrate.DefaultIMAPTimeout, "give up on a connection to the old server after it is silent this long")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	many := *passwords != ""
	if len(pos) != 0 || *from == "" || many == (*user != "") || many && *pwStdin || *jobs < 1 {
		fs.Usage()
		return 2
	}
	fail := func(err error) int { fmt.Fprintln(stderr, "sluice import imap:", err); return 1 }
	dir, err := data()
	if err != nil {
		return fail(err)
	}
	accts, err := auth.Open(dir)
	if err != nil {
		return fail(err)
	}
	var todo []imapJob
	var bad []error
	if many {
		todo, bad, err = imapJobsFromFile(*passwords, *from, *insecure)
	} else {
		todo, err = imapJobFromFlags(stdin, stderr, *from, *user, *pwStdin, *insecure)
	}
	if err != nil {
		return fail(err)
	}
	for i := range todo {
		todo[i].source.Timeout = *timeout
	}
	for _, e := range bad {
		fmt.Fprintf(stderr, "sluice import imap: %s:%v\n", *passwords, e)
	}
	st, err := store.Open(dir, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fail(err)
	}
	defer st.Close()
	run := &imapRun{st: st, accts: accts, dir: dir, verify: *verify, many: many,
		p: newImportProgress(os.Stderr, len(todo), !*quiet && isTerminal()), stdout: stdout, stderr: stderr}
	if !many {
		return run.one(todo[0])
	}
	return run.all(todo, *jobs, len(bad))
}

// importIMAPSummary prints one user's completeness summary and returns
// the messages copied and whether every folder is complete. label starts
// the totals line (the user's address when there are many users).
func importIMAPSummary(stdout, stderr io.Writer, label, user string, results []migrate.FolderResult, err error, copied int64, took time.Duration) (int, bool) {
	incomplete := err != nil
	msgs := 0
	for _, f := range results {
		msgs += f.Imported
		printFolder(stdout, user, f)
		for _, e := range f.Errors {
			fmt.Fprintf(stderr, "%s %s: %s\n", user, f.Mailbox, e)
		}
		incomplete = incomplete || !f.Complete() || len(f.Errors) > 0 && !strings.HasPrefix(f.Errors[0], "skipped")
	}
	rate := float64(msgs) / took.Seconds()
	fmt.Fprintf(stdout, "%s%d messages (%s) copied in %.1fs: %.1f msg/s, %.2f MB/s\n", label, msgs, humanBytes(copied), took.Seconds(),
		rate, float64(copied)/(1<<20)/took.Seconds())
	if err != nil {
		fmt.Fprintf(stderr, "sluice import imap: %s: stopped: %v (run again to resume)\n", user, err)
	}
	if incomplete {
		fmt.Fprintf(stdout, "%sINCOMPLETE: see the lines above\n", label)
	}
	return msgs, !incomplete
}

// sourcePassword reads the old server's password: a line of standard
// input, or a prompt on the terminal.
func sourcePassword(stdin io.Reader, stderr io.Writer, fromStdin bool) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", errors.New("standard input is not a terminal: use --password-stdin")
	}
	fmt.Fprint(stderr, "Password on the old server: ")
	pw, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(stderr)
	return string(pw), err
}
