package imap

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/sluicemail/sluice/server/store"
)

// condstoreBox delivers n messages to alice's INBOX and returns the
// server.
func condstoreBox(t testing.TB, n int) *testServer {
	t.Helper()
	ts := newTestServer(t, Options{}, store.Options{})
	for i := range n {
		msg := fmt.Sprintf("Subject: m%d\r\n\r\nbody %d\r\n", i+1, i+1)
		if err := ts.store.Deliver("alice@example.org", "INBOX", []byte(msg), "", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	return ts
}

var (
	reHighest = regexp.MustCompile(`(?i)\[HIGHESTMODSEQ (\d+)\]`)
	reModSeq  = regexp.MustCompile(`(?i)MODSEQ \((\d+)\)`)
)

// number finds re's first group in lines, failing the test without it.
func number(t *testing.T, re *regexp.Regexp, lines ...string) uint64 {
	t.Helper()
	for _, l := range lines {
		if m := re.FindStringSubmatch(l); m != nil {
			n, _ := strconv.ParseUint(m[1], 10, 64)
			return n
		}
	}
	t.Fatalf("no %v in %q", re, lines)
	return 0
}

// ok runs a command and fails the test unless it ends in OK.
func (rc *rawConn) ok(t testing.TB, tag, text string) []string {
	t.Helper()
	untagged, status := rc.session(t, tag, text)
	if !strings.HasPrefix(status, tag+" OK") {
		t.Fatalf("%s: %s (after %q)", text, status, untagged)
	}
	return untagged
}

// TestCondStore walks RFC 7162 section 3.1: HIGHESTMODSEQ on SELECT and
// STATUS, MODSEQ in FETCH and after STORE, CHANGEDSINCE, STORE
// UNCHANGEDSINCE with OK [MODIFIED], SEARCH MODSEQ, and MODSEQ in the
// flag changes another session hears of.
func TestCondStore(t *testing.T) {
	ts := condstoreBox(t, 3)
	a := dialRawTLS(t, ts, "alice@example.org")
	b := dialRawTLS(t, ts, "alice@example.org")

	caps := strings.Join(a.ok(t, "c", "CAPABILITY"), " ")
	for _, c := range []string{"CONDSTORE", "QRESYNC"} {
		if !strings.Contains(caps, " "+c) {
			t.Errorf("CAPABILITY lacks %s: %s", c, caps)
		}
	}
	sel := a.ok(t, "s", "SELECT INBOX (CONDSTORE)")
	h0 := number(t, reHighest, sel...)
	st := strings.Join(b.ok(t, "st", "STATUS INBOX (HIGHESTMODSEQ MESSAGES)"), " ")
	if !strings.Contains(st, fmt.Sprintf("HIGHESTMODSEQ %d", h0)) {
		t.Errorf("STATUS %q, want HIGHESTMODSEQ %d", st, h0)
	}
	// b enables CONDSTORE by its first FETCH MODSEQ: the untagged
	// HIGHESTMODSEQ comes first (RFC 7162 section 3.1).
	b.ok(t, "bs", "SELECT INBOX")
	bf := b.ok(t, "bf", "FETCH 1 (MODSEQ)")
	if got := number(t, reHighest, bf...); got != h0 {
		t.Errorf("implicit enable: HIGHESTMODSEQ %d, want %d", got, h0)
	}

	st1 := a.ok(t, "1", `STORE 1 +FLAGS (\Flagged)`)
	m1 := number(t, reModSeq, st1...)
	if m1 <= h0 {
		t.Errorf("MODSEQ after STORE %d, not above %d", m1, h0)
	}
	// b hears of the change with its MODSEQ.
	bn := strings.Join(b.ok(t, "bn", "NOOP"), " ")
	if !strings.Contains(bn, fmt.Sprintf("MODSEQ (%d)", m1)) || !strings.Contains(bn, `\Flagged`) {
		t.Errorf("other session heard %q, want FLAGS with MODSEQ (%d)", bn, m1)
	}

	// Message 1 changed after h0; 2 did not: only 2 is stored.
	untagged, status := a.session(t, "2", `STORE 1:2 (UNCHANGEDSINCE `+fmt.Sprint(h0)+`) +FLAGS (\Seen)`)
	if !strings.HasPrefix(status, "2 OK [MODIFIED 1]") {
		t.Errorf("conditional STORE: %s, want OK [MODIFIED 1]", status)
	}
	if len(untagged) != 1 || !strings.HasPrefix(untagged[0], "* 2 FETCH") {
		t.Errorf("conditional STORE answered %q, want one FETCH for message 2", untagged)
	}
	m2 := number(t, reModSeq, untagged...)

	changed := a.ok(t, "3", fmt.Sprintf("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)", h0))
	if len(changed) != 2 || !strings.HasPrefix(changed[0], "* 1 FETCH") || !strings.HasPrefix(changed[1], "* 2 FETCH") {
		t.Errorf("CHANGEDSINCE %d: %q, want messages 1 and 2 with MODSEQ", h0, changed)
	}
	found := a.ok(t, "4", fmt.Sprintf("SEARCH MODSEQ %d", m1+1))
	if want := fmt.Sprintf("* SEARCH 2 (MODSEQ %d)", m2); !slices.Contains(found, want) {
		t.Errorf("SEARCH MODSEQ: %q, want %q", found, want)
	}
	found = a.ok(t, "5", fmt.Sprintf("UID SEARCH RETURN (COUNT) MODSEQ %d", h0+1))
	if len(found) != 1 || !strings.HasSuffix(found[0], fmt.Sprintf("COUNT 2 MODSEQ %d", m2)) {
		t.Errorf("ESEARCH MODSEQ: %q", found)
	}
	silent, status := a.session(t, "7", fmt.Sprintf(`STORE 3 (UNCHANGEDSINCE %d) +FLAGS.SILENT (\Answered)`, m2))
	if !strings.HasPrefix(status, "7 OK") || len(silent) != 1 || strings.Contains(silent[0], "FLAGS") || number(t, reModSeq, silent...) <= m2 {
		t.Errorf("conditional STORE .SILENT: %q %s, want FETCH with only UID and the new MODSEQ", silent, status)
	}
	if _, status := a.session(t, "6", "STORE 3 (UNCHANGEDSINCE 0) +FLAGS (\\Seen)"); !strings.HasPrefix(status, "6 OK [MODIFIED 3]") {
		t.Errorf("UNCHANGEDSINCE 0 must fail every message: %s", status)
	}
}

// TestQResync walks RFC 7162 section 3.2: ENABLE QRESYNC, expunges as
// VANISHED, SELECT (QRESYNC ...) with VANISHED (EARLIER) and the changed
// flags, and UID FETCH (CHANGEDSINCE n VANISHED).
func TestQResync(t *testing.T) {
	ts := condstoreBox(t, 4)
	a := dialRawTLS(t, ts, "alice@example.org")
	if got := a.ok(t, "e", "ENABLE QRESYNC"); !slices.Contains(got, "* ENABLED QRESYNC") {
		t.Errorf("ENABLE QRESYNC: %q", got)
	}
	sel := a.ok(t, "s", "SELECT INBOX")
	h0 := number(t, reHighest, sel...)
	validity := number(t, regexp.MustCompile(`UIDVALIDITY (\d+)`), sel...)
	uids := a.ok(t, "u", "UID SEARCH ALL")
	if len(uids) != 1 {
		t.Fatalf("UID SEARCH: %q", uids)
	}
	u := strings.Fields(uids[0])[2:] // the four UIDs

	a.ok(t, "1", `UID STORE `+u[1]+` +FLAGS (\Deleted)`)
	a.ok(t, "2", `UID STORE `+u[3]+` +FLAGS (\Answered)`)
	ex := a.ok(t, "3", "EXPUNGE")
	if !slices.Contains(ex, "* VANISHED "+u[1]) {
		t.Errorf("EXPUNGE with QRESYNC: %q, want * VANISHED %s", ex, u[1])
	}
	if strings.Contains(strings.Join(ex, " "), "EXPUNGE") {
		t.Errorf("EXPUNGE response sent with QRESYNC enabled: %q", ex)
	}

	// A client that last saw h0 resynchronises in one SELECT.
	b := dialRawTLS(t, ts, "alice@example.org")
	if _, status := b.session(t, "bad", fmt.Sprintf("SELECT INBOX (QRESYNC (%d %d))", validity, h0)); !strings.HasPrefix(status, "bad BAD") {
		t.Errorf("QRESYNC parameter before ENABLE: %s, want BAD", status)
	}
	b.ok(t, "e", "ENABLE QRESYNC")
	resync := b.ok(t, "s", fmt.Sprintf("SELECT INBOX (QRESYNC (%d %d 1:%s))", validity, h0, u[3]))
	if !slices.Contains(resync, "* VANISHED (EARLIER) "+u[1]) {
		t.Errorf("QRESYNC SELECT: %q, want VANISHED (EARLIER) %s", resync, u[1])
	}
	var fetches []string
	for _, l := range resync {
		if strings.Contains(l, " FETCH ") {
			fetches = append(fetches, l)
		}
	}
	if len(fetches) != 1 || !strings.Contains(fetches[0], "UID "+u[3]) || !strings.Contains(fetches[0], `\Answered`) || !reModSeq.MatchString(fetches[0]) {
		t.Errorf("QRESYNC SELECT changes: %q, want one FETCH of UID %s with \\Answered and MODSEQ", fetches, u[3])
	}
	// Nothing changed since the current HIGHESTMODSEQ: nothing to say.
	h1 := number(t, reHighest, resync...)
	again := b.ok(t, "s2", fmt.Sprintf("SELECT INBOX (QRESYNC (%d %d))", validity, h1))
	for _, l := range again {
		if strings.Contains(l, "VANISHED") || strings.Contains(l, " FETCH ") {
			t.Errorf("QRESYNC at the current HIGHESTMODSEQ sent %q", l)
		}
	}
	// A wrong UIDVALIDITY: no VANISHED, the client starts afresh.
	stale := b.ok(t, "s3", fmt.Sprintf("SELECT INBOX (QRESYNC (%d %d))", validity+1, h0))
	if strings.Contains(strings.Join(stale, " "), "VANISHED") {
		t.Errorf("QRESYNC with a stale UIDVALIDITY sent %q", stale)
	}
	uf := b.ok(t, "f", fmt.Sprintf("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)", h0))
	if len(uf) != 2 || uf[0] != "* VANISHED (EARLIER) "+u[1] || !strings.Contains(uf[1], "UID "+u[3]) {
		t.Errorf("UID FETCH (CHANGEDSINCE VANISHED): %q", uf)
	}
	if _, status := b.session(t, "f2", fmt.Sprintf("FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)", h0)); !strings.HasPrefix(status, "f2 BAD") {
		t.Errorf("VANISHED without UID FETCH: %s, want BAD", status)
	}
}

// TestMissingUIDs: the VANISHED (EARLIER) set is the gaps of the
// client's ranges, clipped to the last UID given out.
func TestMissingUIDs(t *testing.T) {
	r := func(a, b uint32) imap.UIDRange { return imap.UIDRange{Start: imap.UID(a), Stop: imap.UID(b)} }
	for _, c := range []struct {
		set     imap.UIDSet
		present []uint32
		last    uint32
		want    string
	}{
		{imap.UIDSet{r(1, 0)}, []uint32{2, 3, 7}, 9, "1,4:6,8:9"},
		{imap.UIDSet{r(1, 4294967295)}, nil, 3, "1:3"},
		{imap.UIDSet{r(5, 6), r(9, 9)}, []uint32{5, 6, 9}, 9, ""},
		{imap.UIDSet{r(3, 8)}, []uint32{1, 2, 10}, 12, "3:8"},
		{imap.UIDSet{r(1, 0)}, nil, 0, ""},
	} {
		if got := missingUIDs(c.set, c.present, c.last).String(); got != c.want {
			t.Errorf("missingUIDs(%v, %v, %d) = %q, want %q", c.set, c.present, c.last, got, c.want)
		}
	}
}

// imapflowDir is where .ci/run installs imapflow (npm ci of
// testdata/imapflow); IMAPFLOW_DIR overrides it.
func imapflowDir() string {
	if d := os.Getenv("IMAPFLOW_DIR"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "sluice-node", "imapflow-2.10.2")
}

// TestImapflowCondStore: imapflow, a Node client that switches on
// CONDSTORE and QRESYNC when offered, fetches with CHANGEDSINCE, stores
// with UNCHANGEDSINCE, hears an expunge as VANISHED, and resynchronises a
// second connection in its SELECT (testdata/imapflow/condstore.cjs).
func TestImapflowCondStore(t *testing.T) {
	node := needTool(t, "node")
	dir := imapflowDir()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "imapflow")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("imapflow is required in CI (.ci/run installs it): %v", err)
		}
		t.Skipf("imapflow not installed in %s (see .ci/run)", dir)
	}
	ts := condstoreBox(t, 4)
	const user = "alice@example.org"
	host, port, _ := strings.Cut(ts.tls, ":")
	cmd := exec.Command(node, "testdata/imapflow/condstore.cjs", host, port, ts.caFile, user, testUsers[user])
	cmd.Env = append(os.Environ(), "IMAPFLOW_DIR="+dir)
	out, err := cmd.CombinedOutput()
	t.Logf("imapflow:\n%s", out)
	if err != nil {
		t.Fatalf("imapflow: %v", err)
	}
	if n := strings.Count(string(out), "ok "); n != 10 {
		t.Errorf("%d steps passed, want 10", n)
	}
}

// TestModSeqSurvivesRestart: MODSEQs live in the index, so a client's
// saved HIGHESTMODSEQ stays meaningful across a restart, and later
// changes never reuse a MODSEQ given out before it.
func TestModSeqSurvivesRestart(t *testing.T) {
	ts := condstoreBox(t, 3)
	state := func() (uint64, []string) {
		t.Helper()
		rc := dialRawTLS(t, ts, "alice@example.org")
		h := number(t, reHighest, rc.ok(t, "s", "SELECT INBOX (CONDSTORE)")...)
		lines := rc.ok(t, "m", "FETCH 1:* (UID MODSEQ)")
		rc.c.Close()
		return h, lines
	}
	h0, _ := state()
	rc := dialRawTLS(t, ts, "alice@example.org")
	rc.ok(t, "s", "SELECT INBOX")
	rc.ok(t, "f", `STORE 2 +FLAGS (\Flagged)`)
	rc.c.Close()
	h1, before := state()
	if h1 <= h0 {
		t.Fatalf("HIGHESTMODSEQ %d did not rise above %d after STORE", h1, h0)
	}
	ts.srv.Close()
	ts.store.Close()
	*ts = *newTestServerAt(t, ts.data)
	h2, after := state()
	if h2 != h1 || !slices.Equal(after, before) {
		t.Fatalf("after restart: HIGHESTMODSEQ %d %q, want %d %q", h2, after, h1, before)
	}
	rc = dialRawTLS(t, ts, "alice@example.org")
	rc.ok(t, "s", "SELECT INBOX (CONDSTORE)")
	if m := number(t, reModSeq, rc.ok(t, "f", `STORE 1 +FLAGS (\Seen)`)...); m <= h1 {
		t.Errorf("MODSEQ %d after restart reuses one given out before (highest was %d)", m, h1)
	}
}
