package dmarc

import (
	"bufio"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestPublicSuffixVectors checks OrgDomain (golang.org/x/net/publicsuffix)
// against the Public Suffix List's own test vectors (testdata/psl).
func TestPublicSuffixVectors(t *testing.T) {
	f, err := os.Open("testdata/psl/test_psl.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line := regexp.MustCompile(`^checkPublicSuffix\((null|'[^']*'), (null|'[^']*')\);`)
	arg := func(s string) string { return strings.Trim(s, "'") } // null -> "null"
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		n++
		in, want := arg(m[1]), arg(m[2])
		if m[1] == "null" {
			in = ""
		}
		if m[2] == "null" {
			want = ""
		}
		if got := OrgDomain(in); got != want {
			t.Errorf("OrgDomain(%q) = %q, want %q", in, got, want)
		}
	}
	if n < 70 {
		t.Fatalf("only %d vectors read", n)
	}
	t.Logf("%d PSL vectors checked", n)
}
