package bayes

import (
	"net/url"
	"strings"

	"github.com/sluicemail/sluice/engine"
	"golang.org/x/net/html"
)

// markup counts what an HTML part does besides showing text.
type markup struct {
	images, links, comments           int
	hidden, tiny, white, form, script bool
	frame, splitWord, linkMismatch    bool
	lastText                          byte     // last byte of visible text, for split words
	mailto                            []string // domains of mailto: links
	urls                              []string // http(s) targets of href and src
}

// htmlTokens reduces an HTML part to its visible text and emits tokens for
// the markup that spam uses and ham rarely does: hidden or tiny text, text
// the colour of the page, words split by comments, many images, forms,
// scripts, links whose text names another host.
func htmlTokens(t *tokens, o Options, src string) (text string, links []string) {
	z := html.NewTokenizer(strings.NewReader(src))
	var sb strings.Builder
	sb.Grow(len(src) / 2)
	var mk markup
	skip := 0
	anchor := "" // host of the href of the open <a>
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			mk.emit(t, sb.Len(), len(src))
			return sb.String(), mk.urls
		case html.TextToken:
			if skip > 0 {
				continue
			}
			text := z.Text()
			if anchor != "" {
				mk.checkAnchor(anchor, text)
			}
			if len(text) > 0 {
				if mk.lastText == 0xff && isLetter(text[0]) {
					mk.splitWord = true
				}
				mk.lastText = text[len(text)-1]
			}
			sb.Write(text)
		case html.CommentToken:
			mk.comments++
			if isLetter(mk.lastText) {
				mk.lastText = 0xff // a letter, then a comment: watch the next text
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			if o.HTMLTags {
				t.addJoin("tag:", viewOf(name))
			}
			// No string is made of the name: a switch on string(name)
			// allocates nothing, and attr needs to know only two tags.
			tag := ""
			switch string(name) {
			case "script", "style", "head":
				if tt == html.StartTagToken {
					skip++
				}
				mk.script = mk.script || string(name) == "script"
			case "br", "p", "div", "tr", "td", "li", "table", "h1", "h2", "h3", "center", "blockquote":
				sb.WriteByte('\n')
				mk.lastText = '\n'
			case "img":
				mk.images++
			case "form", "input", "select", "textarea":
				mk.form = true
			case "iframe", "frame", "object", "embed", "applet":
				mk.frame = true
			case "font":
				tag = "font"
			case "a":
				tag = "a"
			}
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				mk.attr(tag, k, v, &anchor)
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style", "head":
				if skip > 0 {
					skip--
				}
			case "a":
				anchor = ""
			}
			sb.WriteByte(' ')
		}
	}
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// attr looks at one attribute of a start tag ("font", "a" or "" for the
// others). The value becomes a string only for the keys looked at: most
// attributes (class, width, alt) are not, and converting every one was
// garbage per tag.
func (mk *markup) attr(tag string, key, v []byte, anchor *string) {
	var val string
	switch string(key) {
	case "style", "size", "color", "src", "href":
		val = string(v)
	default:
		return
	}
	switch string(key) {
	case "style":
		s := strings.ToLower(strings.ReplaceAll(val, " ", ""))
		if strings.Contains(s, "display:none") || strings.Contains(s, "visibility:hidden") {
			mk.hidden = true
		}
		if strings.Contains(s, "font-size:0") || strings.Contains(s, "font-size:1px") || strings.Contains(s, "font-size:2px") {
			mk.tiny = true
		}
	case "size":
		if tag == "font" && (val == "1" || val == "-2" || val == "-3" || val == "0") {
			mk.tiny = true
		}
	case "color":
		v := strings.ToLower(strings.TrimSpace(val))
		if v == "#ffffff" || v == "white" || v == "#fff" || v == "ffffff" {
			mk.white = true
		}
	case "src":
		mk.link(val)
	case "href":
		mk.link(val)
		if len(val) > 7 && strings.EqualFold(val[:7], "mailto:") {
			if d := engine.DomainOf(strings.SplitN(val[7:], "?", 2)[0]); d != "" && len(mk.mailto) < 10 {
				mk.mailto = append(mk.mailto, d)
			}
		}
		if tag == "a" {
			mk.links++
			*anchor = hostOf(val)
		}
	}
}

// link records an http(s) link target.
func (mk *markup) link(val string) {
	if len(mk.urls) < maxURLs && (hasPrefixFoldString(val, "http://") || hasPrefixFoldString(val, "https://")) {
		mk.urls = append(mk.urls, val)
	}
}

// checkAnchor notes a link whose visible text is a URL on another host than
// the one it points to: the classic phishing disguise.
func (mk *markup) checkAnchor(hrefHost string, text []byte) {
	s := strings.TrimSpace(string(text))
	if !strings.HasPrefix(s, "http") && !strings.HasPrefix(s, "www.") {
		return
	}
	if h := hostOf(s); h != "" && registered(h) != registered(hrefHost) {
		mk.linkMismatch = true
	}
}

// emit adds the markup tokens. Plain structure (that the message is HTML,
// has a few links) is left out on purpose: it is the same in every HTML
// message, and a dozen tokens that all say "HTML" would count as a dozen
// independent clues against every HTML newsletter a user wants.
func (mk *markup) emit(t *tokens, textLen, srcLen int) {
	if mk.images > 0 {
		t.add("html:images:" + bucket(mk.images))
	}
	if mk.links > 5 {
		t.add("html:links:" + bucket(mk.links))
	}
	if mk.comments > 0 {
		t.add("html:comments")
	}
	flags := []struct {
		on  bool
		tok string
	}{
		{mk.hidden, "html:hidden"}, {mk.tiny, "html:tiny-text"}, {mk.white, "html:white-text"},
		{mk.form, "html:form"}, {mk.script, "html:script"}, {mk.frame, "html:frame"},
		{mk.splitWord, "html:comment-in-word"}, {mk.linkMismatch, "html:link-mismatch"},
	}
	for _, f := range flags {
		if f.on {
			t.add(f.tok)
		}
	}
	for _, d := range mk.mailto {
		t.addJoin("email:", d)
	}
	if srcLen > 0 && textLen*5 < srcLen {
		t.add("html:mostly-markup")
	}
	if mk.images > 0 && textLen < 200 {
		t.add("html:images-no-text")
	}
}

// hostOf returns the lower-case host of a link, "" when it has none.
func hostOf(raw string) string {
	raw = strings.TrimSpace(raw)
	if strings.HasPrefix(strings.ToLower(raw), "www.") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
}

// urlTokens reduces a URL to its host and registered domain, and flags the
// tricks that hide where a link goes: a bare IP, user info before the host,
// an unusual port, an encoded host.
func urlTokens(t *tokens, o Options, raw string) {
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		t.add("url:invalid")
		return
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if _, err := parseAddr(host); err == nil {
		t.add("url:ip")
	} else {
		t.addJoin("url:", host)
		if r := registered(host); r != "" && r != host {
			t.addJoin("url:", r)
		}
	}
	if u.User != nil {
		t.add("url:userinfo")
	}
	if u.Port() != "" {
		t.add("url:port")
	}
	if strings.Contains(u.Host, "%") {
		t.add("url:encoded-host")
	}
	if u.Scheme == "https" {
		t.add("url:https")
	}
	if o.URLPaths {
		pathTokens(t, u.EscapedPath()+" "+u.RawQuery)
	}
}

// pathTokens emits the words of a URL's path and query ("remove",
// "unsubscribe", "cgi-bin"), skipping ids and hashes.
func pathTokens(t *tokens, p string) {
	start := -1
	for i := 0; i <= len(p); i++ {
		if i < len(p) && (isLetter(p[i]) || p[i] == '-') {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			if w := p[start:i]; len(w) >= minWord && len(w) <= 15 {
				t.addJoin("url:path:", lowerASCII(w))
			}
			start = -1
		}
	}
}
