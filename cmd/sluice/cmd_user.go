package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/sluicemail/sluice/server/auth"
	"github.com/sluicemail/sluice/server/config"
	"github.com/sluicemail/sluice/server/store"
	"golang.org/x/term"
)

func init() {
	register(&command{
		name:    "user",
		summary: "manage accounts: add, passwd, del, list, alias, unalias, admin",
		run:     func(args []string) int { return runUser(args, os.Stdin, os.Stdout, os.Stderr) },
	})
}

const userUsage = `usage: sluice user add|passwd ADDRESS [--password-stdin] [--admin] [--config FILE | --data DIR]
       sluice user admin ADDRESS on|off   (access to the web console of the admin listener)
       sluice user del ADDRESS
       sluice user list
       sluice user alias ALIAS TARGET...   (ALIAS "@domain" is the domain's catch-all)
       sluice user unalias ALIAS
A running server sees the change at once.`

// runUser edits the accounts file in the data directory; it works beside
// a running server, which reloads the file when it changes.
func runUser(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, userUsage)
		return 2
	}
	sub := args[0]
	fs := flag.NewFlagSet("sluice user "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := dataDirFlags(fs)
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	admin := fs.Bool("admin", false, "with add: the account may log in to the web console")
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return 2
	}
	dir, err := data()
	if err != nil {
		fmt.Fprintln(stderr, "sluice user:", err)
		return 1
	}
	accounts, err := auth.Open(dir)
	if err != nil {
		fmt.Fprintln(stderr, "sluice user:", err)
		return 1
	}
	need := map[string]int{"add": 1, "passwd": 1, "del": 1, "list": 0, "unalias": 1, "admin": 2}
	if n, ok := need[sub]; (ok && len(pos) != n) || (sub == "alias" && len(pos) < 2) {
		fmt.Fprintln(stderr, userUsage)
		return 2
	}
	switch sub {
	case "add", "passwd":
		pw, err := readPassword(stdin, stderr, *pwStdin)
		if err == nil && sub == "add" {
			err = accounts.AddUser(pos[0], pw)
		} else if err == nil {
			err = accounts.SetPassword(pos[0], pw)
		}
		if err == nil && sub == "add" && *admin {
			err = accounts.SetAdmin(pos[0], true)
		}
		if err == nil && sub == "add" {
			warnForeignDomain(stderr, fs, pos[0])
		}
		return userReport(stdout, stderr, err, "%s %s", map[string]string{"add": "added", "passwd": "password changed for"}[sub], auth.Normalize(pos[0]))
	case "admin":
		if pos[1] != "on" && pos[1] != "off" {
			fmt.Fprintln(stderr, userUsage)
			return 2
		}
		return userReport(stdout, stderr, accounts.SetAdmin(pos[0], pos[1] == "on"), "console access %s for %s", pos[1], auth.Normalize(pos[0]))
	case "del":
		return userReport(stdout, stderr, accounts.DeleteUser(pos[0]), "deleted %s (its mail stays in the data directory)", auth.Normalize(pos[0]))
	case "alias":
		return userReport(stdout, stderr, accounts.SetAlias(pos[0], pos[1:]), "%s -> %s", auth.Normalize(pos[0]), strings.Join(pos[1:], ", "))
	case "unalias":
		return userReport(stdout, stderr, accounts.DeleteAlias(pos[0]), "removed alias %s", auth.Normalize(pos[0]))
	case "list":
		listUsers(stdout, accounts, dir, configQuota(fs))
		return 0
	}
	fmt.Fprintln(stderr, userUsage)
	return 2
}

func userReport(stdout, stderr io.Writer, err error, format string, args ...any) int {
	if err != nil {
		fmt.Fprintln(stderr, "sluice user:", err)
		return 1
	}
	fmt.Fprintf(stdout, format+"\n", args...)
	return 0
}

// readPassword takes the password from stdin's first line, or prompts
// twice on a terminal.
func readPassword(stdin io.Reader, stderr io.Writer, fromStdin bool) (string, error) {
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
	fmt.Fprint(stderr, "Password: ")
	first, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(stderr)
	if err != nil {
		return "", err
	}
	fmt.Fprint(stderr, "Again: ")
	second, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(stderr)
	if err != nil {
		return "", err
	}
	if string(first) != string(second) {
		return "", errors.New("the passwords differ")
	}
	return string(first), nil
}

// warnForeignDomain notes an account whose domain the config does not
// serve: it can log in, but no mail reaches it.
func warnForeignDomain(stderr io.Writer, fs *flag.FlagSet, addr string) {
	f := fs.Lookup("config")
	if f == nil || f.Value.String() == "" {
		return
	}
	c, err := config.Load(f.Value.String())
	if err != nil {
		return
	}
	if _, d, _ := strings.Cut(auth.Normalize(addr), "@"); !c.IsLocal(d) {
		fmt.Fprintf(stderr, "note: %s is not one of the local domains (%s); add it to domains: to receive mail\n", d, strings.Join(c.Domains, ", "))
	}
}

// configQuota returns the quota of the --config file, 0 without one.
func configQuota(fs *flag.FlagSet) int64 {
	if f := fs.Lookup("config"); f != nil && f.Value.String() != "" {
		if c, err := config.Load(f.Value.String()); err == nil {
			return int64(c.Quota)
		}
	}
	return 0
}

// listUsers prints each account with its aliases and storage use (of the
// quota, when there is one).
func listUsers(w io.Writer, accounts *auth.Accounts, dir string, quota int64) {
	st, _ := store.Open(dir, store.Options{})
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tSTORAGE\tALIASES")
	for _, u := range accounts.List() {
		usage := "-"
		if st != nil {
			if n, err := st.Usage(u.Address); err == nil {
				usage = humanBytes(n)
				if quota > 0 {
					usage += fmt.Sprintf(" of %s (%d%%)", humanBytes(quota), n*100/quota)
				}
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Address, usage, strings.Join(u.Aliases, ", "))
	}
	tw.Flush()
	if st != nil {
		st.Close()
	}
	var catchAll []string
	for alias, targets := range accounts.Aliases() {
		if strings.HasPrefix(alias, "@") {
			catchAll = append(catchAll, fmt.Sprintf("%s -> %s", alias, strings.Join(targets, ", ")))
		}
	}
	for _, c := range sortedStrings(catchAll) {
		fmt.Fprintln(w, "catch-all", c)
	}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
