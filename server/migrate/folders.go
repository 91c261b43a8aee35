package migrate

import (
	"strings"

	"github.com/sluicemail/sluice/server/store"
)

// wellKnown maps folder names other servers and clients use to sluice's
// special mailboxes.
var wellKnown = map[string]string{
	"sent items": store.Sent, "sent messages": store.Sent, "sent mail": store.Sent,
	"spam": store.Junk, "junk e-mail": store.Junk, "junk email": store.Junk, "bulk mail": store.Junk,
	"deleted items": store.Trash, "deleted messages": store.Trash, "bin": store.Trash,
	"draft": store.Drafts, "archives": store.Archive,
}

// FolderName names the sluice mailbox of a Maildir++ folder: folder is the
// directory name without its leading dot ("" is the Maildir's INBOX),
// in modified UTF-7 with "." between levels, as Dovecot writes it. A name
// that does not decode is returned as it is, for the store to refuse with
// a clear error.
func FolderName(folder string) string {
	if folder == "" {
		return store.Inbox
	}
	name, ok := store.NameOfDir("." + folder)
	if !ok {
		name = folder
	}
	return SpecialName(name)
}

// SpecialName maps another server's name for a special mailbox ("Sent
// Items", "Spam") to sluice's; other names are returned unchanged.
func SpecialName(name string) string {
	if w, ok := wellKnown[strings.ToLower(name)]; ok {
		return w
	}
	return name
}
