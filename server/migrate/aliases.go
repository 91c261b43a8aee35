package migrate

import (
	"fmt"
	"io"
	"regexp"
	"strings"
)

// ParseAliases reads an aliases(5) file (/etc/aliases): "name: value,
// value", continued on lines starting with white space. Targets keep
// their form; LocalAliasTargets says which sluice can deliver to.
func ParseAliases(r io.Reader) ([]AliasEntry, []LineError, error) {
	lines, bad, err := readLogical(r)
	var out []AliasEntry
	for _, l := range lines {
		name, value, ok := strings.Cut(l.Text, ":")
		name = strings.ToLower(strings.Trim(strings.TrimSpace(name), `"`))
		if !ok || name == "" || strings.ContainsAny(name, " \t@") {
			bad = append(bad, LineError{l.Line, "not a \"name: value\" line"})
			continue
		}
		targets := splitTargets(value)
		if len(targets) == 0 {
			bad = append(bad, LineError{l.Line, fmt.Sprintf("%q has no target", name)})
			continue
		}
		out = append(out, AliasEntry{Line: l.Line, Key: name, Targets: targets})
	}
	return out, bad, err
}

// AliasTargets turns local alias targets into addresses at domain: a bare
// name is a local user there. Commands (|prog), files (/path) and
// :include: lists have no sluice equivalent and make an error.
func AliasTargets(targets []string, domain string) ([]string, error) {
	var out []string
	for _, t := range targets {
		t = strings.Trim(t, `"`)
		switch {
		case strings.HasPrefix(t, "|"), strings.HasPrefix(t, "/"), strings.HasPrefix(strings.ToLower(t), ":include:"):
			return nil, fmt.Errorf("target %s is a command, a file or an include list: sluice delivers to mailboxes only", t)
		case strings.Contains(t, "@"):
			out = append(out, strings.ToLower(t))
		default:
			out = append(out, strings.ToLower(t)+"@"+domain)
		}
	}
	return out, nil
}

var postconfVar = regexp.MustCompile(`\$(\{[a-z_]+\}|\([a-z_]+\)|[a-z_]+)`)

// LocalDomains expands mydestination into the domains the local aliases
// answer for, with $myhostname and $mydomain expanded. localhost names
// and entries naming tables are left out.
func LocalDomains(cf map[string]PostfixSetting) []string {
	hostname := cf["myhostname"].Value
	vars := map[string]string{"myhostname": hostname, "mydomain": cf["mydomain"].Value}
	if vars["mydomain"] == "" {
		if _, d, ok := strings.Cut(hostname, "."); ok {
			vars["mydomain"] = d
		}
	}
	dest, ok := cf["mydestination"]
	value := dest.Value
	if !ok {
		value = "$myhostname, localhost.$mydomain, localhost"
	}
	var out []string
	seen := map[string]bool{}
	for _, w := range strings.FieldsFunc(value, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		w = postconfVar.ReplaceAllStringFunc(w, func(v string) string { return vars[strings.Trim(v, "${}()")] })
		w = strings.ToLower(w)
		if w == "" || strings.Contains(w, ":") || strings.Contains(w, "/") || w == "localhost" || strings.HasPrefix(w, "localhost.") || seen[w] {
			continue
		}
		seen[w] = true
		out = append(out, w)
	}
	return out
}
