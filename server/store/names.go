package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Delim is the IMAP hierarchy delimiter. It is Maildir++'s own separator,
// as in Dovecot's default Maildir++ namespace, so a mailbox name maps to a
// directory by one rule: "." + the name in modified UTF-7.
const Delim = '.'

// maxNameLen bounds a mailbox directory name (file systems allow 255).
const maxNameLen = 240

// ErrBadName reports a mailbox name that cannot be stored.
var ErrBadName = errors.New("invalid mailbox name")

// ErrBadUser reports an address that cannot name a mailbox directory.
var ErrBadUser = errors.New("invalid user address")

// CleanName checks a mailbox name (UTF-8, as IMAP clients send it once
// decoded) and returns its canonical spelling: "INBOX" in any case becomes
// "INBOX", also as the first level of a hierarchy. A name can never leave
// the user's directory: it has no path separator, no empty level (so no
// "..", no leading or trailing delimiter), no control characters and no
// IMAP wildcards.
func CleanName(name string) (string, error) {
	if name == "" || !utf8.ValidString(name) {
		return "", fmt.Errorf("%w: %q", ErrBadName, name)
	}
	parts := strings.Split(name, string(Delim))
	if strings.EqualFold(parts[0], Inbox) {
		parts[0] = Inbox
	}
	for _, p := range parts {
		if err := checkLevel(p); err != nil {
			return "", fmt.Errorf("%w %q: %v", ErrBadName, name, err)
		}
	}
	clean := strings.Join(parts, string(Delim))
	if len(encodeUTF7(clean)) > maxNameLen {
		return "", fmt.Errorf("%w: name too long", ErrBadName)
	}
	return clean, nil
}

func checkLevel(p string) error {
	if p == "" {
		return errors.New("empty level")
	}
	for _, r := range p {
		switch {
		case r == '/' || r == '\\':
			return errors.New("path separator")
		case r == '*' || r == '%':
			return errors.New("wildcard")
		case unicode.IsControl(r) || r == utf8.RuneError:
			return errors.New("control character")
		case r == 0xfeff || (r >= 0x200b && r <= 0x200f) || (r >= 0x202a && r <= 0x202e):
			return errors.New("invisible formatting character")
		}
	}
	return nil
}

// folderDir is the directory of a clean mailbox name relative to the
// user's directory: "" for INBOX, ".Sent", ".Parent.Child".
func folderDir(clean string) string {
	if clean == Inbox {
		return ""
	}
	return "." + encodeUTF7(clean)
}

// nameOfDir is the inverse of folderDir for an entry of the user's
// directory; ok is false for anything that is not a valid folder.
func nameOfDir(entry string) (string, bool) {
	if len(entry) < 2 || entry[0] != '.' {
		return "", false
	}
	name, err := decodeUTF7(entry[1:])
	if err != nil {
		return "", false
	}
	clean, err := CleanName(name)
	if err != nil || folderDir(clean) != entry {
		return "", false
	}
	return clean, true
}

// userPath splits user@domain and returns its directory relative to the
// mail root: <domain>/<localpart>. Both parts are checked so that no
// address can name a directory outside the mail root or another user's.
func userPath(user string) (string, error) {
	user = strings.ToLower(user)
	at := strings.LastIndexByte(user, '@')
	if at <= 0 || at == len(user)-1 || len(user) > 320 || !utf8.ValidString(user) {
		return "", fmt.Errorf("%w: %q", ErrBadUser, user)
	}
	local, domain := user[:at], user[at+1:]
	if err := checkLocal(local); err != nil {
		return "", fmt.Errorf("%w %q: %v", ErrBadUser, user, err)
	}
	if err := checkDomain(domain); err != nil {
		return "", fmt.Errorf("%w %q: %v", ErrBadUser, user, err)
	}
	return filepath.Join(domain, local), nil
}

func checkLocal(l string) error {
	if len(l) > 64 || l[0] == '.' {
		return errors.New("bad local part")
	}
	for _, r := range l {
		if r == '/' || r == '\\' || unicode.IsControl(r) || r == utf8.RuneError {
			return errors.New("bad character in local part")
		}
	}
	return nil
}

func checkDomain(d string) error {
	if len(d) > 253 {
		return errors.New("domain too long")
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" {
			return errors.New("empty domain label")
		}
		for _, r := range label {
			if !(r == '-' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r >= 0x80 && unicode.IsLetter(r) || r >= 0x80 && unicode.IsDigit(r)) {
				return errors.New("bad character in domain")
			}
		}
	}
	return nil
}

// NameOfDir returns the mailbox name of a Maildir++ folder directory
// entry (".Sent", ".Entw&APw-rfe"); ok is false for anything else.
func NameOfDir(entry string) (name string, ok bool) { return nameOfDir(entry) }
