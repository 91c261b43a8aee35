package imap

import (
	"bufio"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sluicemail/sluice/server/auth"
	"github.com/sluicemail/sluice/server/store"
)

// imaptestDir is where .ci/run builds Dovecot's imaptest (the binary and
// its tests/ directory); IMAPTEST_DIR overrides it.
func imaptestDir() string {
	if d := os.Getenv("IMAPTEST_DIR"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "sluice-imaptest", "924f619")
}

// imaptestOnly narrows TestImaptest to some files (comma-separated) and
// shows their whole output, for working on one of them.
var imaptestOnly = flag.String("imaptest.only", "", "run only these imaptest files (comma-separated), verbosely")

// imaptestSummary is imaptest's last report of a scripted run. A file
// whose capability the server lacks is skipped without being counted as
// such, so a run that tried no command at all is the sign of a skip.
var imaptestSummary = regexp.MustCompile(`(\d+) test groups: (\d+) failed, (\d+) skipped.*\n` +
	`base protocol: \d+/(\d+) individual commands failed\nextensions: \d+/(\d+) individual`)

// TestImaptest runs each of Dovecot's imaptest scripted test files alone
// against a fresh server on loopback. The files listed in
// testdata/imaptest-pass.txt passed once and must keep passing (no failed
// command, no skip, no protocol error line); a file not listed that now
// passes is reported, to be added to the list.
func TestImaptest(t *testing.T) {
	dir := imaptestDir()
	bin := filepath.Join(dir, "imaptest")
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("imaptest is required in CI (.ci/run builds it): %v", err)
		}
		t.Skipf("imaptest not built at %s (see .ci/run)", dir)
	}
	want := readPassList(t, "testdata/imaptest-pass.txt")
	entries, err := os.ReadDir(filepath.Join(dir, "tests"))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		if *imaptestOnly != "" && !slices.Contains(strings.Split(*imaptestOnly, ","), e.Name()) {
			continue
		}
		if e.IsDir() || strings.HasSuffix(e.Name(), ".mbox") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		files = append(files, e.Name())
	}
	for name := range want {
		if *imaptestOnly == "" && !slices.Contains(files, name) {
			t.Errorf("%s is in imaptest-pass.txt but not among imaptest's tests", name)
		}
	}

	ts := newImaptestServer(t)
	var passed, failed, skipped, newly []string
	for _, name := range files {
		out, result := runImaptestFile(t, bin, filepath.Join(dir, "tests", name), ts)
		switch result {
		case "pass":
			passed = append(passed, name)
			if !want[name] {
				newly = append(newly, name)
			}
		case "skip":
			skipped = append(skipped, name)
		default:
			failed = append(failed, name)
		}
		if want[name] && result != "pass" {
			t.Errorf("imaptest %s used to pass and now gives %s:\n%s", name, result, out)
		} else if *imaptestOnly != "" || result == "fail" && testing.Verbose() {
			t.Logf("imaptest %s: %s\n%s", name, result, out)
		}
	}
	t.Logf("imaptest: %d of %d files pass, %d fail (%s), %d skipped for a capability (%s)",
		len(passed), len(files), len(failed), strings.Join(failed, " "), len(skipped), strings.Join(skipped, " "))
	if len(newly) > 0 {
		t.Logf("newly passing, add to testdata/imaptest-pass.txt: %s", strings.Join(newly, " "))
	}
}

// newImaptestServer starts a server with the two users imaptest logs in
// as (they must share a password).
func newImaptestServer(t *testing.T) *testServer {
	t.Helper()
	auth.HashCost = bcrypt.MinCost
	data := t.TempDir()
	accts, err := auth.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"imaptest1@example.org", "imaptest2@example.org"} {
		if err := accts.AddUser(u, "imaptest-pass"); err != nil {
			t.Fatal(err)
		}
	}
	return startServer(t, data, accts, Options{MaxLoginFailures: 1000}, store.Options{})
}

// runImaptestFile runs one test file and classifies it: "pass" (no failed
// group, no skip, no error line), "skip" (a capability is missing) or
// "fail".
func runImaptestFile(t *testing.T, bin, path string, ts *testServer) (string, string) {
	t.Helper()
	host, port, _ := strings.Cut(ts.tls, ":")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "host="+host, "port="+port, "ssl=any-cert",
		"user=imaptest1@example.org", "user2=imaptest2@example.org", "pass=imaptest-pass", "test="+path)
	cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH=/usr/lib/dovecot")
	raw, err := cmd.CombinedOutput()
	out := string(raw)
	if ctx.Err() != nil {
		return out + "\n(timed out)", "fail"
	}
	m := imaptestSummary.FindStringSubmatch(out)
	switch {
	case m == nil:
		return out + "\n(no summary: " + errString(err) + ")", "fail"
	case m[2] != "0" || strings.Contains(out, "Error:") || err != nil:
		return out, "fail"
	case m[3] != "0" || m[4] == "0" && m[5] == "0":
		return out, "skip"
	}
	return out, "pass"
}

func errString(err error) string {
	if err == nil {
		return "exit 0"
	}
	return err.Error()
}

// readPassList reads one file name a line; # starts a comment.
func readPassList(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if line = strings.TrimSpace(line); line != "" {
			out[line] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
