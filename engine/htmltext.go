package engine

import (
	"strings"

	"golang.org/x/net/html"
)

// HTMLText reduces HTML to its visible text, and returns the href and src
// targets it links to. Script and style content is dropped; block elements
// become line breaks so that words do not run together.
func HTMLText(src string) (text string, links []string) {
	z := html.NewTokenizer(strings.NewReader(src))
	var sb strings.Builder
	skip := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			return strings.TrimSpace(sb.String()), links
		case html.TextToken:
			if skip == 0 {
				sb.Write(z.Text())
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			switch tag {
			case "script", "style", "head", "title":
				if tag != "title" {
					skip++
				}
			case "br", "p", "div", "tr", "li", "h1", "h2", "h3", "td":
				sb.WriteByte('\n')
			}
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				if (string(k) == "href" || string(k) == "src") && len(links) < maxURLs {
					lv := strings.ToLower(string(v))
					if strings.HasPrefix(lv, "http://") || strings.HasPrefix(lv, "https://") {
						links = append(links, string(v))
					}
				}
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style", "head":
				if skip > 0 {
					skip--
				}
			}
		}
	}
}
