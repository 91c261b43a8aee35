package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/sluicemail/sluice/server/auth"
	"github.com/sluicemail/sluice/server/migrate"
)

func init() { importers["accounts"] = runImportAccounts }

const importAccountsUsage = `usage: sluice import accounts [--config FILE | --data DIR] [--domain D] [--scheme S] PASSWD-FILE

Create accounts from a Dovecot passwd-file or /etc/dovecot/users, keeping
each password hash so users log in with their old passwords (bcrypt,
SHA512/SHA256/MD5-CRYPT, ARGON2ID/ARGON2I, SSHA*, SHA*, PLAIN-MD5, PLAIN).
An account whose hash sluice cannot verify is created disabled; an
address that is already an account is left as it is. Exit status 1 when
any line was skipped or any account was created disabled.`

// runImportAccounts reads a passwd-file into the accounts file; it works
// beside a running server, which reloads accounts when the file changes.
func runImportAccounts(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sluice import accounts", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, importAccountsUsage+"\n\nflags:"); fs.PrintDefaults() }
	data := dataDirFlags(fs)
	domain := fs.String("domain", "", "domain for user names without one")
	scheme := fs.String("scheme", "CRYPT", "scheme of passwords written without {SCHEME} (Dovecot's default_pass_scheme)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fs.Usage()
		return 2
	}
	dir, err := data()
	if err != nil {
		fmt.Fprintln(stderr, "sluice import accounts:", err)
		return 1
	}
	f, err := os.Open(pos[0])
	if err != nil {
		fmt.Fprintln(stderr, "sluice import accounts:", err)
		return 1
	}
	defer f.Close()
	entries, bad, readErr := migrate.ParsePasswd(f, migrate.PasswdOptions{Domain: *domain, DefaultScheme: *scheme})
	for _, b := range bad {
		fmt.Fprintf(stderr, "%s:%d: skipped: %s\n", pos[0], b.Line, b.Err)
	}
	accounts, err := auth.Open(dir)
	if err != nil {
		fmt.Fprintln(stderr, "sluice import accounts:", err)
		return 1
	}
	users := make([]auth.Imported, len(entries))
	for i, e := range entries {
		users[i] = auth.Imported{Address: e.Address, Hash: e.Hash, Disabled: e.Disabled}
	}
	outcomes, errs, err := accounts.ImportUsers(users)
	if err != nil {
		fmt.Fprintln(stderr, "sluice import accounts:", err)
		return 1
	}
	return reportImportedAccounts(stdout, stderr, pos[0], entries, outcomes, errs, len(bad), readErr, accounts)
}

// reportImportedAccounts prints one line per account and a total; the
// exit status is 0 only when every line became a usable account.
func reportImportedAccounts(stdout, stderr io.Writer, name string, entries []migrate.PasswdEntry,
	outcomes []auth.ImportOutcome, errs []error, skipped int, readErr error, accounts *auth.Accounts) int {
	var added, existing, disabled int
	for i, e := range entries {
		switch outcomes[i] {
		case auth.ImportAdded:
			if reason := accounts.DisabledReason(e.Address); reason != "" {
				disabled++
				fmt.Fprintf(stderr, "%s:%d: %s created DISABLED: %s\n", name, e.Line, e.Address, reason)
				continue
			}
			added++
			scheme, _ := auth.SplitScheme(e.Hash)
			fmt.Fprintf(stdout, "added %s ({%s})\n", e.Address, scheme)
		case auth.ImportExisting:
			existing++
			fmt.Fprintf(stdout, "kept %s: already an account, its password is unchanged\n", e.Address)
		default:
			skipped++
			fmt.Fprintf(stderr, "%s:%d: skipped: %v\n", name, e.Line, errs[i])
		}
	}
	if readErr != nil {
		skipped++
		fmt.Fprintf(stderr, "%s: reading stopped %v\n", name, readErr)
	}
	fmt.Fprintf(stdout, "%d added, %d already there, %d disabled, %d lines skipped\n", added, existing, disabled, skipped)
	if skipped > 0 || disabled > 0 {
		return 1
	}
	return 0
}
