package main

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/sluicemail/sluice/server/migrate"
	"github.com/sluicemail/sluice/server/migrate/dovecottest"
)

// fixtureMessage is a small message with a Message-ID, CRLF line ends.
// A subject containing "no-id" makes one without a Message-ID.
func fixtureMessage(n int, subject string) string {
	if strings.Contains(subject, "no-id") {
		return fmt.Sprintf("From: sender%d@example.net\r\nSubject: %s\r\n\r\nBody of message %d.\r\n", n, subject, n)
	}
	return fmt.Sprintf("From: sender%d@example.net\r\nTo: someone@example.org\r\nSubject: %s\r\nMessage-ID: <fixture-%d@example.net>\r\nDate: Mon, 6 Jan 2020 10:00:00 +0100\r\n\r\nBody of message %d.\r\n", n, subject, n, n)
}

// dovecotMail is the old server's mail: per user, per folder (IMAP
// names, "." between levels as Dovecot's Maildir++ has it), messages with
// flags, keywords and dates.
var dovecotMail = map[string]map[string][]fixtureMsg{
	"alice": {
		"INBOX": {
			{[]imap.Flag{imap.FlagSeen, "$Label1", "Projekt"}, "05-Jan-2020 10:11:12 +0100"},
			{[]imap.Flag{imap.FlagAnswered, imap.FlagFlagged, imap.FlagSeen}, "29-Feb-2024 23:59:59 -0800"},
			{nil, "01-Dec-2026 08:00:00 +0000"},
		},
		"Sent":     {{[]imap.Flag{imap.FlagSeen}, "02-Mar-2021 12:00:00 +0000"}},
		"Entwürfe": {{[]imap.Flag{imap.FlagDraft, "Projekt"}, "03-Apr-2022 07:30:00 +0200"}},
		"Lists.Go": {{[]imap.Flag{imap.FlagSeen, "$Forwarded"}, "04-May-2023 01:02:03 +0000"}},
		"Leer":     nil, // an empty folder comes too
	},
	"carol": {
		"INBOX":         {{nil, "10-Oct-2020 10:10:10 +0000"}, {[]imap.Flag{imap.FlagSeen, "$Label2"}, "11-Nov-2021 11:11:11 +0100"}},
		"Sent Messages": {{[]imap.Flag{imap.FlagSeen}, "12-Dec-2022 12:12:12 +0000"}},
		"Ärchiv.2020":   {{[]imap.Flag{imap.FlagSeen}, "13-Jan-2020 13:13:13 +0000"}},
	},
	"bob": {
		"INBOX": {{[]imap.Flag{imap.FlagSeen}, "07-Jul-2019 07:07:07 +0000"}, {[]imap.Flag{"NonJunk"}, "08-Aug-2020 08:08:08 +0000"}},
		"Spam":  {{[]imap.Flag{"Junk", imap.FlagSeen}, "09-Sep-2021 09:09:09 +0000"}},
	},
}

// fixtureMsg is one message of a fixture folder: its flags (keywords
// among them) and INTERNALDATE.
type fixtureMsg struct {
	flags []imap.Flag
	date  string
}

// fillDovecot makes folders through a Dovecot session: each one created
// (INBOX is there already), then its messages APPENDed with their flags
// and dates. raw makes a message from its number, which counts on through
// n across calls, and its folder.
func fillDovecot(t *testing.T, c *imapclient.Client, folders map[string][]fixtureMsg, n *int, raw func(n int, folder string) string) {
	t.Helper()
	for folder, msgs := range folders {
		if folder != "INBOX" {
			if err := c.Create(folder, nil).Wait(); err != nil {
				t.Fatalf("dovecot CREATE %s: %v", folder, err)
			}
		}
		for _, m := range msgs {
			*n++
			date, _ := time.Parse("02-Jan-2006 15:04:05 -0700", m.date)
			if err := dovecottest.Append(c, folder, raw(*n, folder), date, m.flags...); err != nil {
				t.Fatalf("dovecot APPEND %s: %v", folder, err)
			}
		}
	}
}

// makeDovecotRoot fills root (laid out ROOT/DOMAIN/USER, Dovecot's
// mail_location = maildir:ROOT/%d/%n) through Dovecot's own IMAP server,
// so every file, dovecot-uidlist and dovecot-keywords is Dovecot's.
func makeDovecotRoot(t *testing.T, root string) {
	t.Helper()
	n := 0
	for user, folders := range dovecotMail {
		c := dovecottest.Session(t, filepath.Join(root, "example.org", user), user+"@example.org")
		fillDovecot(t, c, folders, &n, func(n int, folder string) string {
			subject := folder + " message"
			if n%4 == 0 {
				subject += " no-id"
			}
			return fixtureMessage(n, subject)
		})
		c.Close()
	}
	os.WriteFile(filepath.Join(root, "example.org", "alice", ".dovecot.sieve"), []byte("require \"fileinto\";\nif header :contains \"List-Id\" \"golang\" { fileinto \"Lists.Go\"; }\n"), 0o644)
}

// addPigeonholeScripts gives bob Sieve scripts as Pigeonhole keeps them:
// sieve/NAME.sieve, and .dovecot.sieve a link to the active one. It runs
// after the Dovecot snapshots, since with the Maildir at the home's root
// Dovecot would take the link for a folder.
func addPigeonholeScripts(t *testing.T, root string) {
	t.Helper()
	bobSieve := filepath.Join(root, "example.org", "bob", "sieve")
	os.MkdirAll(bobSieve, 0o700)
	os.WriteFile(filepath.Join(bobSieve, "rules.sieve"), []byte("require [\"fileinto\", \"imap4flags\"];\n# rules\nif address :is \"from\" \"boss@example.net\" { addflag \"\\\\Flagged\"; fileinto \"Work\"; stop; }\n"), 0o600)
	os.WriteFile(filepath.Join(bobSieve, "holiday.sieve"), []byte("require \"vacation\";\nvacation :days 7 \"Away until Monday.\";\n"), 0o600)
	if err := os.Symlink("sieve/rules.sieve", filepath.Join(root, "example.org", "bob", ".dovecot.sieve")); err != nil {
		t.Fatal(err)
	}
}

// dovecotSnapshot is what a mail client sees on the old server.
func dovecotSnapshot(t *testing.T, root, user string) map[string]dovecottest.Mailbox {
	t.Helper()
	c := dovecottest.Session(t, filepath.Join(root, "example.org", user), user+"@example.org")
	defer c.Close()
	snap, err := dovecottest.Snapshot(c, func(name string) string { return migrate.SpecialName(name) })
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// sluiceLogin logs in to sluice's IMAP listener with the user's old
// password.
func sluiceLogin(t *testing.T, addr, user, password string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialStartTLS(addr, &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(user, password).Wait(); err != nil {
		t.Fatalf("%s cannot log in to sluice with the old password: %v", user, err)
	}
	return c
}

// snapshotOf is what the mail client c sees now.
func snapshotOf(t *testing.T, c *imapclient.Client) map[string]dovecottest.Mailbox {
	t.Helper()
	snap, err := dovecottest.Snapshot(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// compareSnapshots fails on any difference a mail client would see;
// sluice may have more mailboxes (its standard ones) if they are empty.
func compareSnapshots(t *testing.T, user string, old, now map[string]dovecottest.Mailbox, sameUIDs bool) {
	t.Helper()
	for name, want := range old {
		got, ok := now[name]
		if !ok {
			t.Errorf("%s: mailbox %q missing in sluice (has %v)", user, name, keys(now))
			continue
		}
		if !sameUIDs {
			for i := range want.Messages {
				want.Messages[i].UID = 0
			}
			for i := range got.Messages {
				got.Messages[i].UID = 0
			}
		} else if got.UIDValidity != want.UIDValidity {
			t.Errorf("%s %s: UIDVALIDITY %d, Dovecot had %d", user, name, got.UIDValidity, want.UIDValidity)
		}
		if !reflect.DeepEqual(got.Messages, want.Messages) {
			t.Errorf("%s %s:\nsluice: %+v\ndovecot: %+v", user, name, got.Messages, want.Messages)
		}
	}
	for name, got := range now {
		if _, ok := old[name]; !ok && len(got.Messages) > 0 {
			t.Errorf("%s: sluice has %q with %d messages that Dovecot did not", user, name, len(got.Messages))
		}
	}
}

func keys(m map[string]dovecottest.Mailbox) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// startServe runs `sluice serve --config conf` and returns its banner.
func startServe(t *testing.T, conf string) (string, *lockedBuffer) {
	t.Helper()
	cmd, stdout, stderr := startServeProcess(t, conf)
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("server stderr:\n%s", stderr.String())
		}
	})
	return readBanner(t, stdout), stderr
}

func bannerAddr(t *testing.T, banner, kind string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s*` + kind + `\s+(127\.0\.0\.1:\d+)`).FindStringSubmatch(banner)
	if m == nil {
		t.Fatalf("no %s listener in the banner:\n%s", kind, banner)
	}
	return m[1]
}
