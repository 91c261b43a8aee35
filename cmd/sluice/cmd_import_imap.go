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

const importIMAPUsage = `usage: sluice import imap [--config FILE | --data DIR] --from imap[s]://USER@HOST:PORT --user ADDRESS [--password-stdin] [--insecure] [--verify]

Copy a user's mail from the old server over IMAP: every folder (Sent,
Drafts, Junk, Trash, Archive found by SPECIAL-USE; others by name), every
message with its date, flags and keywords. A re-run copies only what is
new (Message-ID + date + size within a folder); an interrupted run
resumes. --verify copies nothing and only compares. The summary gives,
per folder, the messages on the source and those present in sluice; the
exit status is 0 only when every folder is complete.`

// runImportIMAP copies one user's mailboxes from a live IMAP server.
func runImportIMAP(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sluice import imap", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, importIMAPUsage+"\n\nflags:"); fs.PrintDefaults() }
	data := dataDirFlags(fs)
	from := fs.String("from", "", "the old server: imap[s]://USER@HOST:PORT")
	user := fs.String("user", "", "the sluice account to copy into")
	pwStdin := fs.Bool("password-stdin", false, "read the old server's password from the first line of standard input")
	insecure := fs.Bool("insecure", false, "accept any certificate, and a plain imap:// login without STARTTLS")
	verify := fs.Bool("verify", false, "copy nothing: compare the source with what sluice has")
	quiet := fs.Bool("quiet", false, "no progress bar")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 0 || *from == "" || *user == "" {
		fs.Usage()
		return 2
	}
	fail := func(err error) int { fmt.Fprintln(stderr, "sluice import imap:", err); return 1 }
	dir, err := data()
	if err != nil {
		return fail(err)
	}
	addr := auth.Normalize(*user)
	if accts, err := auth.Open(dir); err != nil || !accts.Exists(addr) {
		return fail(fmt.Errorf("%s is not an account in %s (sluice import accounts, or sluice user add)", addr, dir))
	}
	pw, err := sourcePassword(stdin, stderr, *pwStdin)
	if err != nil {
		return fail(err)
	}
	c, source, err := migrate.IMAPSource{URL: *from, Password: pw, Insecure: *insecure}.Dial()
	if err != nil {
		return fail(err)
	}
	defer c.Close()
	st, err := store.Open(dir, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fail(err)
	}
	defer st.Close()
	p := newProgress("copying", 0, !*quiet)
	var copied int64
	ii := &migrate.IMAPImporter{Store: st, User: addr, Source: source, Verify: *verify,
		Total:    func(n int, _ int64) { p.total += n },
		Progress: func(b int64) { copied += b; p.add(1) }}
	start := time.Now()
	results, err := ii.Run(c)
	p.finish()
	return importIMAPSummary(stdout, stderr, addr, results, err, copied, time.Since(start))
}

// importIMAPSummary prints the completeness summary; exit 0 only when
// every folder is complete.
func importIMAPSummary(stdout, stderr io.Writer, user string, results []migrate.FolderResult, err error, copied int64, took time.Duration) int {
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
	fmt.Fprintf(stdout, "%d messages (%s) copied in %.1fs: %.1f msg/s, %.2f MB/s\n", msgs, humanBytes(copied), took.Seconds(),
		rate, float64(copied)/(1<<20)/took.Seconds())
	if err != nil {
		fmt.Fprintf(stderr, "sluice import imap: stopped: %v (run again to resume)\n", err)
	}
	if incomplete {
		fmt.Fprintln(stdout, "INCOMPLETE: see the lines above")
		return 1
	}
	return 0
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
