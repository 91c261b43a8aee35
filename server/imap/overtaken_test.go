package imap

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Regression tests for what imaptest's stress mode found (issue 16): a
// session's own FETCH or STORE answer reads the messages as they are now,
// while the flag changes other sessions made earlier wait in its queue
// until the poll after the command. Sent then, they took the client's
// MODSEQ (and flags) back in time. Each interleaving here is forced: a
// session's queue is only drained by its own commands.

var reFetchModSeq = regexp.MustCompile(`^\* (\d+) FETCH \(.*MODSEQ \((\d+)\)`)

// modSeqsNeverDrop fails the test when a FETCH in lines gives a message a
// lower MODSEQ than an earlier one did (imaptest: "MODSEQ dropped"), and
// returns the last line seen for each sequence number.
func modSeqsNeverDrop(t *testing.T, lines []string) map[string]string {
	t.Helper()
	seen := map[string]uint64{}
	last := map[string]string{}
	for _, l := range lines {
		m := reFetchModSeq.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		ms, _ := strconv.ParseUint(m[2], 10, 64)
		if ms < seen[m[1]] {
			t.Errorf("MODSEQ of message %s dropped %d -> %d: %s\nall: %q", m[1], seen[m[1]], ms, l, lines)
		}
		seen[m[1]], last[m[1]] = ms, l
	}
	return last
}

// twoSessions selects alice's INBOX (3 messages) with CONDSTORE in a,
// which is tested, and in b, which makes the changes a must hear of.
func twoSessions(t *testing.T) (a, b *rawConn) {
	ts := condstoreBox(t, 3)
	a = dialRawTLS(t, ts, "alice@example.org")
	b = dialRawTLS(t, ts, "alice@example.org")
	a.ok(t, "s", "SELECT INBOX (CONDSTORE)")
	b.ok(t, "s", "SELECT INBOX (CONDSTORE)")
	return a, b
}

// TestFetchOvertakesQueuedChanges: b changes message 1 twice, then a
// asks for its flags. a's answer shows the second change; the two queued
// changes must not follow it with the first change's MODSEQ.
func TestFetchOvertakesQueuedChanges(t *testing.T) {
	a, b := twoSessions(t)
	b.ok(t, "b1", "STORE 1 +FLAGS (\\Flagged)")
	final := number(t, reModSeq, b.ok(t, "b2", "STORE 1 +FLAGS (\\Answered)")...)

	lines := a.ok(t, "f", "FETCH 1 (FLAGS MODSEQ)")
	lines = append(lines, a.ok(t, "n", "NOOP")...)
	last := modSeqsNeverDrop(t, lines)["1"]
	if !strings.Contains(last, fmt.Sprintf("MODSEQ (%d)", final)) || !strings.Contains(last, `\Flagged`) || !strings.Contains(last, `\Answered`) {
		t.Errorf("last word on message 1 is %q, want both flags at MODSEQ %d", last, final)
	}
}

// TestFetchBodyOvertakesQueuedChanges: a FETCH of a body sets \Seen, a
// change of the session's own that is not queued for it; b's earlier
// change, queued, must not be sent after the answer, which already
// shows it.
func TestFetchBodyOvertakesQueuedChanges(t *testing.T) {
	a, b := twoSessions(t)
	b.ok(t, "b1", "STORE 1 +FLAGS (\\Flagged)")

	lines := a.ok(t, "f", "FETCH 1 (BODY[])")
	lines = append(lines, a.ok(t, "n", "NOOP")...)
	last := modSeqsNeverDrop(t, lines)["1"]
	if !strings.Contains(last, `\Flagged`) || !strings.Contains(last, `\Seen`) {
		t.Errorf("last word on message 1 is %q, want \\Flagged and \\Seen", last)
	}
	check := a.ok(t, "c", "FETCH 1 (FLAGS MODSEQ)")
	if got, want := number(t, reModSeq, check...), number(t, reModSeq, last); got != want {
		t.Errorf("message 1 is at MODSEQ %d, the client was left at %d", got, want)
	}
}

// TestStoreOvertakesQueuedChanges: a's STORE answer shows b's earlier
// change with its own; the queued change must not follow it.
func TestStoreOvertakesQueuedChanges(t *testing.T) {
	a, b := twoSessions(t)
	b.ok(t, "b1", "STORE 1 +FLAGS (\\Flagged)")

	lines := a.ok(t, "st", "STORE 1 +FLAGS (\\Answered)")
	lines = append(lines, a.ok(t, "n", "NOOP")...)
	last := modSeqsNeverDrop(t, lines)["1"]
	if !strings.Contains(last, `\Flagged`) || !strings.Contains(last, `\Answered`) {
		t.Errorf("last word on message 1 is %q, want \\Flagged and \\Answered", last)
	}
}

// TestRelayAnnouncesNewKeyword: a keyword another session sets while a
// idles reaches a in FLAGS before the FETCH that shows it (RFC 3501
// section 7.2.6; imaptest: "Keyword used without being in FLAGS"). The
// check used to run once before a poll, apart from the relay: IDLE
// relayed without it, and a keyword set between the check and the relay
// slipped through.
func TestRelayAnnouncesNewKeyword(t *testing.T) {
	a, b := twoSessions(t)
	fmt.Fprintf(a.c, "i IDLE\r\n")
	if l := a.line(t); !strings.HasPrefix(l, "+") {
		t.Fatalf("IDLE: %s", l)
	}
	b.ok(t, "b1", "STORE 2 +FLAGS ($Fresh)")
	announced := false
	for {
		l := a.line(t)
		if strings.HasPrefix(l, "* FLAGS ") && strings.Contains(l, "$Fresh") {
			announced = true
		}
		if strings.HasPrefix(l, "* 2 FETCH") {
			if !announced {
				t.Errorf("%s came before any FLAGS with $Fresh", l)
			}
			break
		}
	}
	fmt.Fprintf(a.c, "DONE\r\n")
	if l := a.line(t); !strings.HasPrefix(l, "i OK") {
		t.Fatalf("IDLE DONE: %s", l)
	}
	// Announced once: the next relay of the keyword needs no FLAGS.
	b.ok(t, "b2", "STORE 3 +FLAGS ($Fresh)")
	for _, l := range a.ok(t, "n", "NOOP") {
		if strings.HasPrefix(l, "* FLAGS ") {
			t.Errorf("FLAGS again for a keyword already announced: %s", l)
		}
	}
}

// TestSilentStoreOvertakesQueuedChanges: after a's STORE .SILENT, b's
// earlier change, queued with the flags from before a's, must not take
// a's flags back; a hears of b's change with the flags as they are now.
func TestSilentStoreOvertakesQueuedChanges(t *testing.T) {
	a, b := twoSessions(t)
	b.ok(t, "b1", "STORE 1 +FLAGS (\\Flagged)")

	lines := a.ok(t, "st", "STORE 1 +FLAGS.SILENT (\\Answered)")
	lines = append(lines, a.ok(t, "n", "NOOP")...)
	last := modSeqsNeverDrop(t, lines)["1"]
	if !strings.Contains(last, `\Flagged`) || !strings.Contains(last, `\Answered`) {
		t.Errorf("last word on message 1 is %q, want \\Flagged and \\Answered; all: %q", last, lines)
	}
}
