package migrate

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// PasswdEntry is one account line of a Dovecot passwd-file
// (user:password:uid:gid:gecos:home:shell:extra_fields), the format of
// both passwd-file passdbs and /etc/dovecot/users.
type PasswdEntry struct {
	Line    int    // 1-based line number in the file
	User    string // as written: "user" or "user@domain"
	Address string // User with the default domain added where it had none
	Hash    string // "{SCHEME}hash"; a hash without a scheme gets the default one
	// Disabled says why the account must not log in as imported (the
	// source marks it nologin or nopassword, or it has no password).
	Disabled string
}

// LineError is a line of the file that could not be read as an account.
type LineError struct {
	Line int
	Err  string
}

func (e LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Err) }

// PasswdOptions tune ParsePasswd.
type PasswdOptions struct {
	// Domain is added to user names without one; empty makes such a line
	// an error.
	Domain string
	// DefaultScheme is the scheme of a password without "{SCHEME}", as
	// Dovecot's default_pass_scheme; empty means CRYPT.
	DefaultScheme string
}

// maxLine bounds one line so a binary file given by mistake is reported,
// not read into memory whole.
const maxLine = 64 << 10

// ParsePasswd reads a passwd-file. Blank lines and # comments are skipped;
// every other line gives an entry or a LineError, and reading goes on
// after an error so that one bad line costs one account, not all of them.
// The error returned is only a read error of r.
func ParsePasswd(r io.Reader, opt PasswdOptions) ([]PasswdEntry, []LineError, error) {
	if opt.DefaultScheme == "" {
		opt.DefaultScheme = "CRYPT"
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxLine)
	var entries []PasswdEntry
	var bad []LineError
	seen := map[string]int{}
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		e, err := parsePasswdLine(line, opt)
		if err == nil {
			if first, dup := seen[e.Address]; dup {
				err = fmt.Errorf("%s already given on line %d; this line is skipped", e.Address, first)
			}
		}
		if err != nil {
			bad = append(bad, LineError{Line: n, Err: err.Error()})
			continue
		}
		e.Line = n
		seen[e.Address] = n
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		return entries, bad, fmt.Errorf("after line %d: %w", n, err)
	}
	return entries, bad, nil
}

func parsePasswdLine(line string, opt PasswdOptions) (PasswdEntry, error) {
	if !utf8.ValidString(line) {
		return PasswdEntry{}, fmt.Errorf("not UTF-8 text")
	}
	f := strings.SplitN(line, ":", 8)
	if len(f) < 2 {
		return PasswdEntry{}, fmt.Errorf("no ':' after the user name (want user:{SCHEME}hash:...)")
	}
	var e PasswdEntry
	e.User = f[0]
	if e.User == "" || strings.IndexFunc(e.User, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return e, fmt.Errorf("user name %q is empty or has spaces", e.User)
	}
	e.Address = strings.ToLower(e.User)
	if !strings.Contains(e.Address, "@") {
		if opt.Domain == "" {
			return e, fmt.Errorf("user %q has no domain (give --domain)", e.User)
		}
		e.Address += "@" + strings.ToLower(opt.Domain)
	}
	if local, dom, _ := strings.Cut(e.Address, "@"); local == "" || dom == "" || strings.Contains(dom, "@") {
		return e, fmt.Errorf("user %q is not user@domain", e.User)
	}
	e.Hash = f[1]
	switch {
	case e.Hash == "":
		e.Disabled = "no password in the source file"
	case !strings.HasPrefix(e.Hash, "{"):
		e.Hash = "{" + strings.ToUpper(opt.DefaultScheme) + "}" + e.Hash
	case !strings.Contains(e.Hash, "}"):
		return e, fmt.Errorf("password scheme is not closed by '}'")
	}
	if len(f) == 8 {
		for _, x := range strings.Fields(f[7]) {
			switch k, _, _ := strings.Cut(x, "="); strings.ToLower(k) {
			case "nologin":
				e.Disabled = "marked nologin in the source file"
			case "nopassword":
				e.Disabled = "marked nopassword in the source file (any password would do): set one with sluice user passwd"
			}
		}
	}
	return e, nil
}
