package migrate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// IMAPUser is one line of a `sluice import imap --passwords` file: a user
// of the old server, the password there, and the sluice account that
// receives the mail.
type IMAPUser struct {
	Line     int
	Source   string // the login name on the old server
	User     string // the sluice address
	Password string
}

// maxPasswordsFile bounds what ReadIMAPUsers reads: a file of a few
// thousand users is kilobytes, not megabytes.
const maxPasswordsFile = 16 << 20

// ReadIMAPUsers reads a --passwords file. Like ssh with a private key, it
// refuses a file that group or others may read or write: the file holds
// every user's password in clear. Lines it cannot read are returned as
// errors naming the line; the good lines are returned with them, so
// that the other users' imports go on.
func ReadIMAPUsers(path string) ([]IMAPUser, []error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, nil, fmt.Errorf("%s holds passwords but is open to others (mode %04o): chmod 600 %s", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxPasswordsFile+1))
	if err != nil {
		return nil, nil, err
	}
	if len(data) > maxPasswordsFile {
		return nil, nil, fmt.Errorf("%s is larger than %d MB", path, maxPasswordsFile>>20)
	}
	users, bad := ParseIMAPUsers(data)
	return users, bad, nil
}

// ParseIMAPUsers reads the lines of a --passwords file:
//
//	# comment
//	SOURCE-USER  SLUICE-ADDRESS  PASSWORD
//
// Fields are separated by spaces or tabs. The password comes last and
// runs to the end of the line, so it may hold spaces and '#'; it cannot
// begin with a space or a tab. A source user named twice is an error on
// the later line: one import per source account.
func ParseIMAPUsers(data []byte) ([]IMAPUser, []error) {
	var users []IMAPUser
	var bad []error
	seen := map[string]int{}
	for i, raw := range bytes.Split(data, []byte("\n")) {
		n := i + 1
		line := strings.TrimSuffix(string(raw), "\r")
		trimmed := strings.TrimLeft(line, " \t")
		if trimmed == "" || trimmed[0] == '#' {
			continue
		}
		u, err := parseIMAPUser(trimmed)
		if err == nil && seen[u.Source] != 0 {
			err = fmt.Errorf("%s is named again (first on line %d)", u.Source, seen[u.Source])
		}
		if err != nil {
			bad = append(bad, fmt.Errorf("line %d: %w", n, err))
			continue
		}
		u.Line = n
		seen[u.Source] = n
		users = append(users, u)
	}
	return users, bad
}

func parseIMAPUser(line string) (IMAPUser, error) {
	if !utf8.ValidString(line) {
		return IMAPUser{}, errors.New("not UTF-8")
	}
	source, rest := cutField(line)
	user, password := cutField(rest)
	switch {
	case user == "":
		return IMAPUser{}, errors.New("want SOURCE-USER SLUICE-ADDRESS PASSWORD")
	case password == "":
		return IMAPUser{}, fmt.Errorf("%s: no password", source)
	case strings.ContainsAny(source+password, "\x00\r"):
		return IMAPUser{}, fmt.Errorf("%s: a control character in the line", source)
	}
	local, domain, ok := strings.Cut(user, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return IMAPUser{}, fmt.Errorf("%s: the sluice address %q is not user@domain", source, user)
	}
	return IMAPUser{Source: source, User: user, Password: password}, nil
}

// cutField splits s at its first run of spaces or tabs.
func cutField(s string) (field, rest string) {
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimLeft(s[i:], " \t")
}
