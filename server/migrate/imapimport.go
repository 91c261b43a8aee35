package migrate

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/textproto"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/sluicemail/sluice/server/store"
)

// IMAPImporter copies one user's mail from a live IMAP server: every
// folder (empty ones too), every message with its INTERNALDATE, flags and
// keywords. Within a folder a message is identified by Message-ID +
// INTERNALDATE + size (a digest of the message when it has no
// Message-ID), so that a re-run copies only what is new; the same
// message in two folders is two copies, as the source has it.
type IMAPImporter struct {
	Store  *store.Store
	User   string // the sluice account
	Source string // the source's identity for the checkpoint (scheme://user@host:port)
	Verify bool   // compare only: copy nothing
	// Progress, when set, is called after each message looked at, with
	// the bytes copied for it (0 when it was there already).
	Progress func(copied int64)
	// Total, when set, is called once per folder with its message count
	// and total size, before the folder is copied.
	Total func(messages int, bytes int64)
}

// sourceMessage is what the first FETCH says of a message.
type sourceMessage struct {
	uid   uint32
	flags []imap.Flag
	date  time.Time
	size  int64
	msgID string
}

// Run copies every folder of the logged-in client c; see MaildirImporter
// for the meaning of the results. A folder the source refuses to open, or
// a message it refuses to send, is counted in its folder with the
// server's reason, and the import goes on; the error returned stops it
// (the connection broke, the disk is full) and a re-run resumes.
func (ii *IMAPImporter) Run(c *imapclient.Client) ([]FolderResult, error) {
	im, err := ii.Store.NewImporter(ii.User)
	if err != nil {
		return nil, err
	}
	defer im.Close()
	userDir, err := ii.Store.UserDir(ii.User)
	if err != nil {
		return nil, err
	}
	cp, err := openCheckpoint(userDir)
	if err != nil {
		return nil, err
	}
	defer cp.close()
	prefix := personalPrefix(c)
	list, err := c.List("", "*", listOptions(c)).Collect()
	if err != nil {
		return nil, fmt.Errorf("LIST: %w", err)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Mailbox < list[j].Mailbox })
	var out []FolderResult
	for _, l := range list {
		if hasAttr(l.Attrs, imap.MailboxAttrNoSelect) || hasAttr(l.Attrs, imap.MailboxAttrNonExistent) {
			continue
		}
		if hasAttr(l.Attrs, imap.MailboxAttrAll) {
			out = append(out, FolderResult{Mailbox: l.Mailbox, Errors: []string{"skipped: a virtual \\All folder holds copies of the others"}})
			continue
		}
		res, err := ii.folder(c, im, cp, l, prefix)
		out = append(out, res)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func listOptions(c *imapclient.Client) *imap.ListOptions {
	if c.Caps().Has(imap.CapSpecialUse) || c.Caps().Has(imap.CapListExtended) {
		return &imap.ListOptions{ReturnSpecialUse: true}
	}
	return nil
}

func (ii *IMAPImporter) folder(c *imapclient.Client, im *store.Importer, cp *checkpoint, l *imap.ListData, prefix string) (FolderResult, error) {
	mailbox := sourceMailbox(l, prefix)
	res := FolderResult{Mailbox: mailbox}
	fail := func(err error) (FolderResult, error) {
		res.Errors = append(res.Errors, err.Error())
		return res, nil
	}
	if !ii.Verify {
		clean, _, err := im.Mailbox(mailbox)
		if err != nil {
			if store.IsPermanent(err) {
				return fail(err)
			}
			return res, err
		}
		res.Mailbox, mailbox = clean, clean
	}
	sel, err := c.Select(l.Mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		res.Failed = 1 // the folder itself
		return fail(fmt.Errorf("the source refused to open %q: %w", l.Mailbox, err))
	}
	msgs, err := fetchIndex(c, sel.NumMessages)
	res.Source = len(msgs)
	var refused *imap.Error
	switch {
	case errors.As(err, &refused):
		// The source listed only part of the folder (it could not read
		// some messages): copy those, and count the others as not
		// copied, which also keeps the checkpoint where it was.
		res.Source = max(int(sel.NumMessages), len(msgs))
		res.Failed += max(res.Source-len(msgs), 1)
		res.Errors = append(res.Errors, fmt.Sprintf("the source listed %d of its %d messages: %v", len(msgs), sel.NumMessages, err))
	case err != nil:
		return res, fmt.Errorf("%s: %w", l.Mailbox, err)
	}
	if ii.Total != nil {
		var size int64
		for _, m := range msgs {
			size += m.size
		}
		ii.Total(len(msgs), size)
	}
	mark := cp.mark(ii.Source, l.Mailbox)
	if mark.Validity != sel.UIDValidity {
		mark = folderMark{Validity: sel.UIDValidity} // renumbered: the keys still prevent duplicates
	}
	for _, m := range msgs {
		n, err := ii.message(c, im, cp, l.Mailbox, mailbox, m, &mark, &res)
		if err != nil {
			return res, err
		}
		if ii.Progress != nil {
			ii.Progress(n)
		}
	}
	if !ii.Verify {
		if err := cp.set(ii.Source, l.Mailbox, mark); err != nil {
			return res, err
		}
	}
	return res, nil
}

// fetchIndex reads UID, flags, date, size and Message-ID of every message.
// With an error it returns what the source did send: after a NO, the
// messages it could list.
func fetchIndex(c *imapclient.Client, n uint32) ([]sourceMessage, error) {
	if n == 0 {
		return nil, nil
	}
	var all imap.SeqSet
	all.AddRange(1, 0)
	hdr := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Message-ID"}, Peek: true}
	bufs, err := c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true, InternalDate: true, RFC822Size: true,
		BodySection: []*imap.FetchItemBodySection{hdr}}).Collect()
	if err != nil {
		err = fmt.Errorf("FETCH: %w", err)
	}
	out := make([]sourceMessage, 0, len(bufs))
	for _, b := range bufs {
		if b.UID == 0 || err != nil && len(b.BodySection) == 0 {
			// Not listed: a partial answer, after a NO the message the
			// source could not read (Dovecot disconnects a client that
			// asks for it again in the same session).
			continue
		}
		m := sourceMessage{uid: uint32(b.UID), flags: b.Flags, date: b.InternalDate, size: b.RFC822Size}
		for _, s := range b.BodySection {
			m.msgID = messageID(s.Bytes)
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].uid < out[j].uid })
	return out, err
}

func messageID(header []byte) string {
	h, _ := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(bytes.TrimRight(header, "\r\n"), "\r\n\r\n"...)))).ReadMIMEHeader()
	return strings.TrimSpace(h.Get("Message-Id"))
}

// key is a message's identity within its folder.
func (m sourceMessage) key(raw []byte) string {
	if m.msgID != "" {
		return fmt.Sprintf("%s|%d|%d", m.msgID, m.date.Unix(), m.size)
	}
	sum := sha256.Sum256(raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// message copies one message unless it is there already; it returns the
// bytes copied. Only an error that must stop the import is returned.
func (ii *IMAPImporter) message(c *imapclient.Client, im *store.Importer, cp *checkpoint, folder, mailbox string,
	m sourceMessage, mark *folderMark, res *FolderResult) (int64, error) {
	if m.msgID != "" && cp.has(mailbox, m.key(nil)) {
		res.Already++
		return 0, nil
	}
	if m.msgID == "" && m.uid <= mark.LastUID {
		res.Already++ // copied by an earlier run (the checkpoint says so)
		return 0, nil
	}
	if ii.Verify {
		return 0, nil // not in sluice: the summary shows it missing
	}
	raw, err := fetchBody(c, m.uid)
	var refused *imap.Error
	switch {
	case errors.As(err, &refused):
		res.Failed++
		res.Errors = append(res.Errors, fmt.Sprintf("UID %d: the source refused it: %v", m.uid, err))
		return 0, nil
	case errors.Is(err, errNoBody):
		// Deleted on the live server after the folder was listed: not
		// copied, said so, and the rest of the folder goes on; a re-run
		// no longer finds it on the source.
		res.Failed++
		res.Errors = append(res.Errors, fmt.Sprintf("UID %d: %v", m.uid, err))
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("%s UID %d: %w", folder, m.uid, err)
	}
	key := m.key(raw)
	if cp.has(mailbox, key) {
		res.Already++
		return 0, nil
	}
	flags, err := ii.maildirFlags(im, mailbox, m.flags)
	if err != nil {
		return 0, err
	}
	stored, err := im.Import(mailbox, raw, flags, m.date)
	switch {
	case err != nil && store.IsPermanent(err):
		res.Failed++
		res.Errors = append(res.Errors, fmt.Sprintf("UID %d: %v", m.uid, err))
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("%s: %w", mailbox, err)
	case stored:
		res.Imported++
		res.Bytes += int64(len(raw))
	default:
		res.Already++
	}
	// The mark says "every message up to LastUID is in sluice", and a
	// re-run skips a message without a Message-ID at or below it without
	// fetching it: it must not move past a message of this folder that
	// could not be copied.
	if m.uid > mark.LastUID && res.Failed == 0 {
		mark.LastUID = m.uid
	}
	return int64(len(raw)), cp.copied(ii.Source, folder, mailbox, key, *mark)
}

func fetchBody(c *imapclient.Client, uid uint32) ([]byte, error) {
	body := &imap.FetchItemBodySection{Peek: true}
	bufs, err := c.Fetch(imap.UIDSetNum(imap.UID(uid)), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{body}}).Collect()
	if err != nil {
		return nil, err
	}
	for _, b := range bufs {
		if uint32(b.UID) == uid && len(b.BodySection) > 0 {
			return b.BodySection[0].Bytes, nil
		}
	}
	return nil, errNoBody
}

// errNoBody is a UID FETCH answered OK without the message: it was
// expunged on the source since the folder was listed.
var errNoBody = errors.New("the source no longer has it (deleted there during the import)")

// maildirFlags turns IMAP flags into the Maildir letters of the store,
// keywords as letters of the mailbox's dovecot-keywords.
func (ii *IMAPImporter) maildirFlags(im *store.Importer, mailbox string, flags []imap.Flag) (string, error) {
	names := make([]string, len(flags))
	for i, f := range flags {
		names[i] = string(f)
	}
	letters, keywords := store.SplitFlags(names)
	if len(keywords) == 0 {
		return letters, nil
	}
	_, dir, err := im.Mailbox(mailbox)
	if err != nil {
		return "", err
	}
	to, err := store.KeywordLetters(dir, keywords)
	if err != nil {
		return "", err
	}
	for _, k := range keywords {
		if l, ok := to[k]; ok {
			letters += string(l)
		}
	}
	return store.CleanFlags(letters), nil
}
