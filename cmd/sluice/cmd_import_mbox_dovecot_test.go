package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"golang.org/x/crypto/bcrypt"

	"github.com/sluicemail/sluice/server/auth"
	"github.com/sluicemail/sluice/server/migrate/dovecottest"
)

// TestImportMboxFromDovecot: Dovecot's own imap, with mail_location =
// mbox:~/mail:INBOX=SPOOL/%u, makes an mbox home (nested, non-ASCII and
// empty folders, flags, keywords, dates) through IMAP. `sluice import
// maildir ROOT --accounts --mbox-inbox SPOOL` imports it from disk, and a
// mail client logged in to sluice sees what it saw on Dovecot: the same
// folders, counts, flags, keywords, dates, sizes, UIDs and UIDVALIDITY.
func TestImportMboxFromDovecot(t *testing.T) {
	dovecottest.Need(t)
	auth.HashCost = bcrypt.MinCost
	dir := t.TempDir()
	root, spool := filepath.Join(dir, "home"), filepath.Join(dir, "spool")
	home := filepath.Join(root, "bob")
	os.MkdirAll(filepath.Join(home, "mail"), 0o755)
	os.MkdirAll(spool, 0o755)
	dovecottest.Chown(t, spool)
	os.Chmod(spool, 0o777)
	location := "mbox:~/mail:INBOX=" + spool + "/%u"

	folders := map[string][]fixtureMsg{
		"INBOX": {
			{[]imap.Flag{imap.FlagSeen, "$Label1", "Projekt"}, "05-Jan-2020 10:11:12 +0100"},
			{[]imap.Flag{imap.FlagAnswered, imap.FlagFlagged, imap.FlagSeen}, "29-Feb-2024 23:59:59 -0800"},
			{nil, "01-Dec-2026 08:00:00 +0000"},
		},
		"Sent":     {{[]imap.Flag{imap.FlagSeen}, "02-Mar-2021 12:00:00 +0000"}},
		"Entwürfe": {{[]imap.Flag{imap.FlagDraft, "Projekt"}, "03-Apr-2022 07:30:00 +0200"}},
		"Lists/Go": {{[]imap.Flag{imap.FlagSeen, "$Forwarded"}, "04-May-2023 01:02:03 +0000"}, {[]imap.Flag{imap.FlagDeleted}, "05-May-2023 01:02:03 +0000"}},
		"Leer":     nil,
	}
	c := dovecottest.SessionAt(t, home, "bob", location)
	n := 0
	fillDovecot(t, c, folders, &n, func(n int, folder string) string {
		// A body line starting "From ", which Dovecot does not quote.
		return strings.Replace(fixtureMessage(n, folder+" message"), "\r\n\r\n", "\r\n\r\nFrom the body\r\n\r\nFrom me too\r\n", 1)
	})
	c.Close()
	// What a client sees on Dovecot, folder names as sluice spells them.
	c = dovecottest.SessionAt(t, home, "bob", location)
	before, err := dovecottest.Snapshot(c, func(name string) string { return strings.ReplaceAll(name, "/", ".") })
	c.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(before["INBOX"].Messages) != 3 || len(before["Lists.Go"].Messages) != 2 {
		t.Fatalf("dovecot snapshot: %+v", before)
	}

	conf := filepath.Join(dir, "sluice.yaml")
	os.WriteFile(filepath.Join(dir, "test.zone"), []byte("$ORIGIN .\n$TTL 300\n"), 0o644)
	os.WriteFile(conf, []byte("hostname: mx.example.org\ndomains: [example.org]\ndata: data\n"+
		"listen: {smtp: \"127.0.0.1:0\", imap: \"127.0.0.1:0\"}\ndns: {zonefile: test.zone}\n"), 0o644)
	accts, err := auth.Open(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	if err := accts.AddUser("bob@example.org", "password-bob"); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runIn(t, "", "import", "maildir", "--config", conf, root, "--accounts", "--domain", "example.org", "--mbox-inbox", spool, "--quiet")
	if code != 0 || !strings.Contains(out, "bob@example.org INBOX                    3 on source: 3 imported, 0 already there, 0 failed: complete, UIDs handed on") {
		t.Fatalf("import maildir: exit %d\n%s\n%s", code, out, errOut)
	}
	banner, _ := startServe(t, conf)
	s := sluiceLogin(t, bannerAddr(t, banner, "imap"), "bob@example.org", "password-bob")
	now := snapshotOf(t, s)
	// An empty mbox file holds no X-IMAPbase: Dovecot keeps that folder's
	// UIDVALIDITY in its index only, and with no message a client has
	// nothing to fetch again. Every other UIDVALIDITY must match.
	if leer := now["Leer"]; len(leer.Messages) == 0 && len(before["Leer"].Messages) == 0 {
		leer.UIDValidity = before["Leer"].UIDValidity
		now["Leer"] = leer
	}
	compareSnapshots(t, "bob", before, now, true)
}
