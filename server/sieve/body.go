package sieve

import (
	"html"
	"regexp"
	"strings"
)

// The body test (RFC 5173) with its transforms :raw (the body as it
// came), :content (the decoded parts of the given types; "" for all)
// and :text, the default (the text parts, HTML reduced to its text).

type bodyTest struct {
	m         matcher
	transform string // raw, content, text
	types     []string
	keys      []string
}

func (t *bodyTest) eval(r *run) (bool, error) {
	msg := r.env.Msg
	if t.transform == "raw" {
		return r.match(t.m, []string{string(msg.Body)}, t.keys), nil
	}
	if msg.parts == nil {
		msg.parts = mimeParts(msg.Header, msg.Body)
	}
	var values []string
	types := r.expandList(t.types)
	for _, p := range msg.parts {
		switch {
		case t.transform == "text" && p.ctype == "text/html":
			values = append(values, htmlText(string(p.content)))
		case t.transform == "text" && strings.HasPrefix(p.ctype, "text/"):
			values = append(values, string(p.content))
		case t.transform == "content" && typeMatches(p.ctype, types):
			values = append(values, string(p.content))
		}
	}
	return r.match(t.m, values, t.keys), nil
}

// typeMatches says whether a part's type is one of types: "" matches
// all, "text" the whole text/ family, "text/html" itself.
func typeMatches(ctype string, types []string) bool {
	for _, t := range types {
		t = strings.ToLower(t)
		if t == "" || t == ctype || (!strings.Contains(t, "/") && strings.HasPrefix(ctype, t+"/")) {
			return true
		}
	}
	return false
}

var (
	htmlHidden = regexp.MustCompile(`(?is)<(script|style)\b.*?</(script|style)\s*>`)
	htmlTag    = regexp.MustCompile(`(?s)<[^>]*>`)
)

// htmlText reduces HTML to the text a reader sees, enough for matching.
func htmlText(s string) string {
	s = htmlHidden.ReplaceAllString(s, " ")
	s = htmlTag.ReplaceAllString(s, "")
	return html.UnescapeString(s)
}

func init() {
	tags := append(append([]tagSpec{}, matchTags...),
		tagSpec{name: "raw", group: "transform"},
		tagSpec{name: "text", group: "transform"},
		tagSpec{name: "content", val: valStrings, group: "transform"})
	tests["body"] = testSpec{ext: "body", args: argSpec{tags: tags, pos: []valKind{valStrings}},
		build: func(c *compiler, b *bound) (test, error) {
			m, err := c.matcher(b)
			if err != nil {
				return nil, err
			}
			t := &bodyTest{m: m, transform: "text", keys: b.args[0].Strs}
			if tr := b.group["transform"]; tr != "" {
				t.transform = tr
			}
			if t.transform == "content" {
				t.types = b.tags["content"].Strs
			}
			return t, nil
		}}
}
