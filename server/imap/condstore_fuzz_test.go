package imap

import (
	"strings"
	"testing"
	"time"
)

// modifierCommands are the commands whose RFC 7162 and RFC 5267
// arguments the fork parses; %s is where the fuzzer's text goes.
var modifierCommands = []string{
	"SELECT INBOX %s",
	"EXAMINE INBOX (QRESYNC (%s))",
	"FETCH 1:* (FLAGS MODSEQ) (%s)",
	"UID FETCH 1:* (FLAGS) (CHANGEDSINCE %s)",
	"STORE 1 (%s) +FLAGS (\\Seen)",
	"SEARCH MODSEQ %s",
	"SEARCH RETURN (%s) ALL",
	"STATUS INBOX (%s)",
	"ENABLE %s",
	"CANCELUPDATE %s",
}

// FuzzModifiers sends the fork's new parsers arbitrary text through a real
// connection: every command must get a tagged answer and leave the
// connection usable (no panic, no hang, no desynchronised stream).
func FuzzModifiers(f *testing.F) {
	for _, seed := range []string{
		"(CONDSTORE)", "(QRESYNC (1 2 1:5 (1:2 3:4)))", "1 2", "1 2 1:*", "CHANGEDSINCE 3 VANISHED",
		"UNCHANGEDSINCE 0", "\"/flags/\\\\seen\" all 5", "PARTIAL -1:-5", "UPDATE COUNT", "HIGHESTMODSEQ",
		"QRESYNC CONDSTORE", "\"w\" \"x\"", "18446744073709551615", "(((", "",
	} {
		for i := range modifierCommands {
			f.Add(uint8(i), seed)
		}
	}
	ts := condstoreBox(f, 3)
	rc := dialRawTLS(f, ts, "alice@example.org")
	rc.ok(f, "e", "ENABLE QRESYNC")
	f.Fuzz(func(t *testing.T, which uint8, arg string) {
		// A line break or a literal would end or suspend the command
		// rather than exercise the parser.
		if strings.ContainsAny(arg, "\r\n{") {
			return
		}
		rc.c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, status := rc.session(t, "s", "SELECT INBOX"); !strings.HasPrefix(status, "s OK") {
			t.Fatalf("SELECT: %s", status)
		}
		cmd := strings.Replace(modifierCommands[int(which)%len(modifierCommands)], "%s", arg, 1)
		_, status := rc.session(t, "f", cmd)
		if !strings.HasPrefix(status, "f OK") && !strings.HasPrefix(status, "f NO") && !strings.HasPrefix(status, "f BAD") {
			t.Fatalf("%q: %s", cmd, status)
		}
		if _, status := rc.session(t, "n", "NOOP"); !strings.HasPrefix(status, "n OK") {
			t.Fatalf("after %q, NOOP: %s", cmd, status)
		}
	})
}
