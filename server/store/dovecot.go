package store

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// dovecotKeywordsFile is where Dovecot names the keywords it writes into
// Maildir file names as the letters a-z: one "<n> <keyword>" line each,
// letter 'a'+n.
const dovecotKeywordsFile = "dovecot-keywords"

// dovecotKeywords reads a mailbox's dovecot-keywords file (nil if none),
// so that a Maildir copied over from Dovecot keeps its keywords.
func dovecotKeywords(dir string) map[byte]string {
	f, err := os.Open(filepath.Join(dir, dovecotKeywordsFile))
	if err != nil {
		return nil
	}
	defer f.Close()
	return parseDovecotKeywords(f)
}

// parseDovecotKeywords reads the "<n> <keyword>" lines of a
// dovecot-keywords file, skipping what is not a valid IMAP keyword.
func parseDovecotKeywords(r io.Reader) map[byte]string {
	out := map[byte]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		num, kw, ok := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		n, err := strconv.Atoi(num)
		if !ok || err != nil || n < 0 || n > 25 || !validKeyword(kw) {
			continue
		}
		out[byte('a'+n)] = kw
	}
	return out
}

// validKeyword reports whether kw is an IMAP flag-keyword (an atom not
// starting with a backslash).
func validKeyword(kw string) bool {
	if kw == "" || kw[0] == '\\' {
		return false
	}
	for i := 0; i < len(kw); i++ {
		c := kw[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return false
		}
	}
	return true
}

// keywordsOfLetters returns the keywords named by the lower-case letters
// of Maildir flags.
func keywordsOfLetters(flags string, names map[byte]string) []string {
	var kw []string
	for i := 0; i < len(flags); i++ {
		if k, ok := names[flags[i]]; ok {
			kw = append(kw, k)
		}
	}
	sort.Strings(kw)
	return kw
}
