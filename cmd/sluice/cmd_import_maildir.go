package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sluicemail/sluice/server/auth"
	"github.com/sluicemail/sluice/server/migrate"
	"github.com/sluicemail/sluice/server/sieve"
	"github.com/sluicemail/sluice/server/sieve/scripts"
	"github.com/sluicemail/sluice/server/store"
)

func init() { importers["maildir"] = runImportMaildir }

const importMaildirUsage = `usage: sluice import maildir [--config FILE | --data DIR] ROOT --accounts [--domain D] [--mbox-inbox SPOOL]
       sluice import maildir [--config FILE | --data DIR] MAILDIR --user ADDRESS

Copy the Maildir++ trees of a Dovecot server's disk into sluice: with
--accounts every user under ROOT (ROOT/DOMAIN/USER[/Maildir], or with
--domain ROOT/USER[/Maildir]), each into the account of that address;
with --user one Maildir. Folders, flags, keywords (dovecot-keywords),
dates, and the UIDVALIDITY and UIDs of dovecot-uidlist (for folders
sluice has not opened yet) come along. A home with no Maildir but an
mbox tree in mail/ (mail_location = mbox:~/mail) is read too: one folder
per mbox file, flags from Status, X-Status and X-Keywords, INBOX from
SPOOL/ADDRESS or SPOOL/USER (/var/mail). Runs beside a running server; a
second run copies only what is new. Exit status 0 only when every
message of every folder is in sluice.`

// runImportMaildir imports Maildirs from the old server's disk.
func runImportMaildir(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sluice import maildir", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, importMaildirUsage+"\n\nflags:"); fs.PrintDefaults() }
	data := dataDirFlags(fs)
	all := fs.Bool("accounts", false, "import every user under ROOT")
	domain := fs.String("domain", "", "with --accounts: ROOT holds users of this one domain directly")
	user := fs.String("user", "", "import the one Maildir given into this account")
	spool := fs.String("mbox-inbox", "", "with --accounts: the directory of mbox users' INBOX files (/var/mail)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 || *all == (*user != "") {
		fs.Usage()
		return 2
	}
	dir, err := data()
	if err != nil {
		fmt.Fprintln(stderr, "sluice import maildir:", err)
		return 1
	}
	var users []migrate.MaildirUser
	if *all {
		users, err = migrate.FindMaildirUsers(pos[0], *domain)
		for i, u := range users {
			if u.Mbox != "" && *spool != "" {
				users[i].Inbox = spoolFile(*spool, u.Address)
			}
		}
	} else {
		users = []migrate.MaildirUser{{Address: auth.Normalize(*user), Dir: pos[0], Home: pos[0]}}
	}
	if err != nil {
		fmt.Fprintln(stderr, "sluice import maildir:", err)
		return 1
	}
	if len(users) == 0 {
		fmt.Fprintf(stderr, "sluice import maildir: no Maildir found under %s (want ROOT/DOMAIN/USER, or --domain for ROOT/USER)\n", pos[0])
		return 1
	}
	accounts, err := auth.Open(dir)
	if err != nil {
		fmt.Fprintln(stderr, "sluice import maildir:", err)
		return 1
	}
	st, err := store.Open(dir, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Fprintln(stderr, "sluice import maildir:", err)
		return 1
	}
	defer st.Close()
	return importMaildirUsers(st, accounts, users, !*quiet, stdout, stderr)
}

func importMaildirUsers(st *store.Store, accounts *auth.Accounts, users []migrate.MaildirUser, bar bool, stdout, stderr io.Writer) int {
	var bytesDone int64
	p := newProgress("importing", 0, bar)
	mi := &migrate.MaildirImporter{Store: st, Progress: func(n int64) { bytesDone += n; p.add(1) },
		Sieve: scripts.New(st.UserDir, sieve.Limits{}).ImportDovecot}
	incomplete := false
	start := time.Now()
	var msgs int
	for _, u := range users {
		if !accounts.Exists(u.Address) {
			incomplete = true
			fmt.Fprintf(stderr, "%s: skipped: not an account (import accounts first: sluice import accounts PASSWD-FILE)\n", u.Address)
			continue
		}
		res, err := mi.ImportUser(u)
		p.finish()
		for _, f := range res.Folders {
			msgs += f.Imported
			printFolder(stdout, u.Address, f)
			for _, e := range f.Errors {
				fmt.Fprintf(stderr, "%s %s: %s\n", u.Address, f.Mailbox, e)
			}
			incomplete = incomplete || !f.Complete()
		}
		if len(res.SieveFound) > 0 {
			active := res.SieveActive
			if active == "" {
				active = "none"
			}
			fmt.Fprintf(stdout, "%s Sieve: %d script files found, active script: %s\n", u.Address, len(res.SieveFound), active)
		}
		if res.SieveErr != nil {
			incomplete = true
			fmt.Fprintf(stderr, "%s: Sieve: not imported: %v\n", u.Address, strings.ReplaceAll(res.SieveErr.Error(), "\n", "; "))
		}
		if err != nil {
			fmt.Fprintf(stderr, "sluice import maildir: %s: stopped: %v (run again to resume)\n", u.Address, err)
			return 1
		}
	}
	el := time.Since(start).Seconds()
	fmt.Fprintf(stdout, "%d messages (%s) imported in %.1fs\n", msgs, humanBytes(bytesDone), el)
	if incomplete {
		fmt.Fprintln(stdout, "INCOMPLETE: see the lines above")
		return 1
	}
	return 0
}

// printFolder is one line of the completeness summary.
func printFolder(w io.Writer, user string, f migrate.FolderResult) {
	state := "complete"
	if !f.Complete() {
		state = "INCOMPLETE"
	}
	uids := ""
	if f.UIDsKept {
		uids = ", UIDs handed on"
	}
	fmt.Fprintf(w, "%s %-24s %d on source: %d imported, %d already there, %d failed: %s%s\n",
		user, quoteMailbox(f.Mailbox), f.Source, f.Imported, f.Already, f.Failed, state, uids)
}

func quoteMailbox(m string) string {
	if strings.ContainsAny(m, " \t") {
		return `"` + m + `"`
	}
	return m
}

// spoolFile is the INBOX of an mbox user in the spool directory: named
// by the whole address (virtual users) or by its local part (/var/mail/USER).
func spoolFile(spool, address string) string {
	whole := filepath.Join(spool, address)
	if _, err := os.Stat(whole); err == nil {
		return whole
	}
	local, _, _ := strings.Cut(address, "@")
	return filepath.Join(spool, local)
}
