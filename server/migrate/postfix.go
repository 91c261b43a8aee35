package migrate

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode"
)

// PostfixSetting is one parameter of main.cf and the line it starts on.
type PostfixSetting struct {
	Name, Value string
	Line        int
}

// ParseMainCF reads Postfix's main.cf (postconf(5)): "name = value"
// lines, a line starting with white space continuing the one before,
// # comments. Lines that are not parameters are returned as LineErrors.
func ParseMainCF(r io.Reader) (map[string]PostfixSetting, []LineError, error) {
	out := map[string]PostfixSetting{}
	var bad []LineError
	var cur *PostfixSetting
	flush := func() {
		if cur != nil {
			out[cur.Name] = *cur
			cur = nil
		}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxLine)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		t := strings.TrimSpace(line)
		switch {
		case t == "" || strings.HasPrefix(t, "#"):
			continue
		case line[0] == ' ' || line[0] == '\t':
			if cur == nil {
				bad = append(bad, LineError{n, "continuation line without a parameter before it"})
				continue
			}
			cur.Value = strings.TrimSpace(cur.Value + " " + t)
			continue
		}
		flush()
		name, value, ok := strings.Cut(line, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.IndexFunc(name, unicode.IsSpace) >= 0 {
			bad = append(bad, LineError{n, "not a \"name = value\" line"})
			continue
		}
		cur = &PostfixSetting{Name: name, Value: strings.TrimSpace(value), Line: n}
	}
	flush()
	return out, bad, sc.Err()
}

// PostfixTable is one lookup table a parameter names ("hash:/etc/postfix/virtual").
type PostfixTable struct {
	Type, Path string
}

// Tables splits a parameter value into its lookup tables; words without a
// "type:" (permit_mynetworks, reject_unauth_destination) are not tables.
func Tables(value string) []PostfixTable {
	var out []PostfixTable
	for _, w := range strings.FieldsFunc(value, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		if typ, path, ok := strings.Cut(w, ":"); ok && typ != "" && path != "" && !strings.Contains(typ, "/") {
			out = append(out, PostfixTable{Type: typ, Path: path})
		}
	}
	return out
}

// LocalPath maps a path that main.cf names under the old server's
// config_directory (default /etc/postfix) into dir, the copy being read.
func LocalPath(path, configDir, dir string) string {
	if configDir == "" {
		configDir = "/etc/postfix"
	}
	if rel, err := filepath.Rel(configDir, path); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.Join(dir, rel)
	}
	return path
}

// AliasEntry is one line of a virtual(5) alias table.
type AliasEntry struct {
	Line    int
	Key     string
	Targets []string
}

// ParseAliasTable reads a virtual(5) table source (the text postmap
// reads): "key value" with the value's addresses separated by commas or
// spaces, continued on lines starting with white space.
func ParseAliasTable(r io.Reader) ([]AliasEntry, []LineError, error) {
	lines, bad, err := readLogical(r)
	var out []AliasEntry
	for _, l := range lines {
		key, rest, _ := strings.Cut(strings.Join(strings.Fields(l.Text), " "), " ")
		targets := splitTargets(rest)
		if len(targets) == 0 {
			bad = append(bad, LineError{l.Line, fmt.Sprintf("%q has no target", key)})
			continue
		}
		out = append(out, AliasEntry{Line: l.Line, Key: strings.ToLower(key), Targets: targets})
	}
	return out, bad, err
}

func splitTargets(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
}

// postfixNotes are the main.cf parameters sluice has no translation
// for, and what to do instead. The ones it translates (aliases, access
// maps, header and body checks, mynetworks, relayhost,
// message_size_limit) are not here.
var postfixNotes = map[string]string{
	"content_filter":                  "a content filter (amavis, SpamAssassin): sluice's rules and bayes stage take its place; sluice import spamassassin reads local.cf",
	"smtpd_milters":                   "milters: sluice runs its own checks; a milter it cannot call",
	"non_smtpd_milters":               "milters: sluice runs its own checks; a milter it cannot call",
	"transport_maps":                  "per-domain transports: sluice delivers locally or by MX or smarthost",
	"relay_domains":                   "sluice is not a backup MX for other domains",
	"sender_dependent_relayhost_maps": "one smarthost for all senders (relay.smarthost)",
	"sender_canonical_maps":           "address rewriting: no sluice equivalent",
	"recipient_canonical_maps":        "address rewriting: use aliases (sluice user alias)",
	"canonical_maps":                  "address rewriting: use aliases (sluice user alias)",
	"sender_bcc_maps":                 "automatic BCC: no sluice equivalent",
	"recipient_bcc_maps":              "automatic BCC: no sluice equivalent",
	"always_bcc":                      "automatic BCC: no sluice equivalent",
	"smtpd_sender_login_maps":         "sluice checks that an authenticated sender owns its address itself",
	"virtual_mailbox_limit":           "mailbox quotas: no sluice equivalent",
}

// PostfixUntranslated lists the settings of main.cf that sluice has no
// translation for, one line each with the main.cf line number.
func PostfixUntranslated(cf map[string]PostfixSetting) []string {
	var out []string
	for name, note := range postfixNotes {
		if s, ok := cf[name]; ok && s.Value != "" {
			out = append(out, fmt.Sprintf("main.cf:%d: %s = %s: not translated (%s)", s.Line, name, s.Value, note))
		}
	}
	sort.Strings(out)
	return out
}

// ReadAliasTable reads a table source file into entries.
func ReadAliasTable(path string) ([]AliasEntry, []LineError, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return ParseAliasTable(f)
}
