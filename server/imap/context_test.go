package imap

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestContextSearch: RFC 5267's PARTIAL (also counted from the end) and
// UPDATE, whose ADDTO/REMOVEFROM follow changes made by another session
// and by new mail, until CANCELUPDATE.
func TestContextSearch(t *testing.T) {
	ts := condstoreBox(t, 5)
	a := dialRawTLS(t, ts, "alice@example.org")
	b := dialRawTLS(t, ts, "alice@example.org")
	a.ok(t, "s", "SELECT INBOX")
	b.ok(t, "s", "SELECT INBOX")

	for _, c := range []struct{ ret, want string }{
		{"PARTIAL 2:3", `* ESEARCH (TAG "p") PARTIAL (2:3 2:3)`},
		{"PARTIAL 4:9", `* ESEARCH (TAG "p") PARTIAL (4:9 4:5)`},
		{"PARTIAL -1:-2", `* ESEARCH (TAG "p") PARTIAL (-1:-2 4:5)`},
		{"PARTIAL 7:9", `* ESEARCH (TAG "p") PARTIAL (7:9 NIL)`},
		{"COUNT PARTIAL 1:1", `* ESEARCH (TAG "p") COUNT 5 PARTIAL (1:1 1)`},
	} {
		if got := a.ok(t, "p", "SEARCH RETURN ("+c.ret+") ALL"); !slices.Contains(got, c.want) {
			t.Errorf("RETURN (%s): %q, want %q", c.ret, got, c.want)
		}
	}
	for _, bad := range []string{"PARTIAL 1", "PARTIAL 0:3", "PARTIAL 1:-3"} {
		if _, status := a.session(t, "x", "SEARCH RETURN ("+bad+") ALL"); !strings.HasPrefix(status, "x BAD") {
			t.Errorf("RETURN (%s): %s, want BAD", bad, status)
		}
	}

	uids := strings.Fields(a.ok(t, "u", "UID SEARCH ALL")[0])[2:]
	if got := a.ok(t, "w", "UID SEARCH RETURN (UPDATE) FLAGGED"); len(got) != 1 || got[0] != `* ESEARCH (TAG "w") UID` {
		t.Errorf("UPDATE on an empty result: %q", got)
	}
	b.ok(t, "f", `STORE 2,4 +FLAGS (\Flagged)`)
	want := fmt.Sprintf(`* ESEARCH (TAG "w") UID ADDTO (0 %s,%s)`, uids[1], uids[3])
	if got := a.ok(t, "n", "NOOP"); !slices.Contains(got, want) {
		t.Errorf("after another session's STORE: %q, want %q", got, want)
	}
	b.ok(t, "f", `STORE 2 -FLAGS (\Flagged)`)
	want = fmt.Sprintf(`* ESEARCH (TAG "w") UID REMOVEFROM (0 %s)`, uids[1])
	if got := a.ok(t, "n", "NOOP"); !slices.Contains(got, want) {
		t.Errorf("after unflagging: %q, want %q", got, want)
	}
	// Expunging a result message: REMOVEFROM before its EXPUNGE.
	b.ok(t, "d", `STORE 4 +FLAGS (\Deleted)`)
	b.ok(t, "e", "EXPUNGE")
	got := a.ok(t, "n", "NOOP")
	want = fmt.Sprintf(`* ESEARCH (TAG "w") UID REMOVEFROM (0 %s)`, uids[3])
	if i := slices.Index(got, want); i < 0 || i+1 >= len(got) || got[i+1] != "* 4 EXPUNGE" {
		t.Errorf("after an expunge: %q, want %q then * 4 EXPUNGE", got, want)
	}
	// New mail that matches joins the result.
	if _, status := a.session(t, "c", `CANCELUPDATE "nosuch"`); !strings.HasPrefix(status, "c BAD") {
		t.Errorf("CANCELUPDATE of an unknown tag: %s, want BAD", status)
	}
	a.ok(t, "w2", "SEARCH RETURN (UPDATE) SUBJECT late")
	if err := ts.store.Deliver("alice@example.org", "INBOX", []byte("Subject: late\r\n\r\nx\r\n"), "", time.Now()); err != nil {
		t.Fatal(err)
	}
	got = a.ok(t, "n", "NOOP")
	if !slices.Contains(got, "* 5 EXISTS") || !slices.Contains(got, `* ESEARCH (TAG "w2") ADDTO (0 5)`) {
		t.Errorf("after new mail: %q, want EXISTS and ADDTO (0 5)", got)
	}
	a.ok(t, "c", `CANCELUPDATE "w" "w2"`)
	b.ok(t, "f", `STORE 1 +FLAGS (\Flagged)`)
	for _, l := range a.ok(t, "n", "NOOP") {
		if strings.Contains(l, "ESEARCH") {
			t.Errorf("update after CANCELUPDATE: %s", l)
		}
	}
}
