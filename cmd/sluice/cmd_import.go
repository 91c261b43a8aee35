package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/textproto"
	"os"
	"sort"
	"strings"

	"github.com/sluicemail/sluice/engine/source"
	"github.com/sluicemail/sluice/server/auth"
	"github.com/sluicemail/sluice/server/config"
	"github.com/sluicemail/sluice/server/migrate"
	"github.com/sluicemail/sluice/server/store"
)

func init() {
	register(&command{name: "import", summary: "migrations: accounts, imap, maildir, postfix, spamassassin; or a Maildir/mbox into a mailbox", run: runImport})
}

// importers are the `sluice import KIND` subcommands; a first argument
// that is none of them is the original `sluice import --user ADDRESS PATH`.
var importers = map[string]func(args []string, stdin io.Reader, stdout, stderr io.Writer) int{}

func runImport(args []string) int {
	if len(args) > 0 {
		if sub := importers[args[0]]; sub != nil {
			return sub(args[1:], os.Stdin, os.Stdout, os.Stderr)
		}
	}
	fs := newFlags("import", "--user ADDRESS [--config FILE | --data DIR] [--folder NAME] PATH...",
		"Copy Maildirs (with their Maildir++ sub-folders) and mbox files into a user's mailboxes,\n"+
			"keeping flags and dates. Running it again skips what was imported already.")
	user := fs.String("user", "", "the account to import into (required)")
	cfgPath := fs.String("config", "", "config file (for its data directory)")
	data := fs.String("data", "", "data directory (default: the config's, or ./sluice-data)")
	folder := fs.String("folder", "", "mailbox for messages outside any sub-folder (mbox files, a Maildir's INBOX); default INBOX")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *user == "" || fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	dir, err := importDataDir(*cfgPath, *data)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sluice import:", err)
		return 1
	}
	addr := auth.Normalize(*user)
	if accts, err := auth.Open(dir); err != nil || !accts.Exists(addr) {
		fmt.Fprintf(os.Stderr, "sluice import: %s is not an account in %s (add it with: sluice user add %s)\n", addr, dir, addr)
		return 1
	}
	st, err := store.Open(dir, store.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		fmt.Fprintln(os.Stderr, "sluice import:", err)
		return 1
	}
	defer st.Close()
	im, err := st.NewImporter(addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sluice import:", err)
		return 1
	}
	// Files Dovecot wrote go through its own mbox reader: the generic one
	// would split at every unquoted "From " body line.
	var paths, dovecot []string
	for _, p := range fs.Args() {
		if migrate.IsDovecotMbox(p) {
			dovecot = append(dovecot, p)
		} else {
			paths = append(paths, p)
		}
	}
	bar := newProgress("importing", source.Count(paths), !*quiet)
	counts := map[string]*importCounts{}
	failed := 0
	mi := &migrate.MaildirImporter{Store: st}
	for _, p := range dovecot {
		res, ferr := mi.ImportMboxFile(im, p, importMailbox("", *folder))
		c := counts[res.Mailbox]
		if c == nil {
			c = &importCounts{}
			counts[res.Mailbox] = c
		}
		c.imported += res.Imported
		c.skipped += res.Already
		c.unreadable += res.Failed
		if res.Failed == 0 && len(res.Errors) > 0 {
			c.unreadable++ // the mailbox could not be made
		}
		for _, e := range res.Errors {
			fmt.Fprintf(os.Stderr, "sluice import: %s\n", e)
		}
		if ferr != nil {
			err = ferr
			break
		}
	}
	if err == nil {
		err = source.Walk(paths, func(it source.Item) error {
			bar.add(1)
			mailbox := importMailbox(it.Folder, *folder)
			c := counts[mailbox]
			if c == nil {
				c = &importCounts{}
				counts[mailbox] = c
			}
			if it.Err != nil {
				c.unreadable++
				fmt.Fprintf(os.Stderr, "\nsluice import: %s: %v\n", it.Path, it.Err)
				return nil
			}
			flags := it.Flags
			if strings.Contains(it.Path, "#") && flags == "" {
				flags = mboxFlags(it.Raw)
			}
			stored, err := im.Import(mailbox, it.Raw, flags, it.Date)
			switch {
			case err != nil && store.IsPermanent(err):
				c.unreadable++
				fmt.Fprintf(os.Stderr, "\nsluice import: %s: %v\n", it.Path, err)
			case err != nil:
				return err // disk full, permissions: stop, a rerun resumes
			case stored:
				c.imported++
			default:
				c.skipped++
			}
			return nil
		})
	}
	bar.finish()
	if cerr := im.Close(); err == nil {
		err = cerr
	}
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := counts[n]
		fmt.Printf("%-20s %d imported, %d already there, %d unreadable\n", n, c.imported, c.skipped, c.unreadable)
		failed += c.unreadable
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sluice import:", err)
		return 1
	}
	if failed > 0 {
		return 1
	}
	return 0
}

type importCounts struct{ imported, skipped, unreadable int }

// importDataDir picks the data directory: --data, else the config's.
func importDataDir(cfgPath, data string) (string, error) {
	if data != "" {
		return data, nil
	}
	var cfg *config.Config
	var err error
	if cfgPath != "" {
		cfg, err = config.Load(cfgPath)
	} else {
		cfg, err = config.Default()
	}
	if err != nil {
		return "", err
	}
	return cfg.Data, nil
}

// importMailbox names the mailbox for a Maildir++ folder ("" is the
// Maildir's INBOX, or a plain file or mbox).
func importMailbox(folder, top string) string {
	if folder == "" && top != "" {
		return top
	}
	return migrate.FolderName(folder)
}

// mboxFlags reads the Status and X-Status headers mbox writers (mutt,
// Thunderbird, Dovecot) use for flags: R read, A answered, F flagged,
// D deleted, T draft.
func mboxFlags(raw []byte) string {
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw))).ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return ""
	}
	status := h.Get("Status") + h.Get("X-Status")
	var flags []byte
	for _, m := range []struct{ in, out byte }{{'R', 'S'}, {'A', 'R'}, {'F', 'F'}, {'D', 'T'}, {'T', 'D'}} {
		if strings.IndexByte(status, m.in) >= 0 {
			flags = append(flags, m.out)
		}
	}
	return store.CleanFlags(string(flags))
}
