package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages/bayes"
)

func trainMsg(kind string, n int) string {
	words := "cheap pills offer lottery prize casino winner"
	if kind == "ham" {
		words = "kernel patch review agenda minutes compiler branch"
	}
	return fmt.Sprintf("From: %s@example.org\nSubject: %s %d\nMessage-ID: <%d.%s@example.org>\n\n%s %s %d\n", kind, kind, n, n, kind, words, words, n)
}

// trainFixture lays out spam as a Maildir and single files, ham as an mbox.
func trainFixture(t *testing.T) (spamDir, spamFile, hamMbox string) {
	t.Helper()
	dir := t.TempDir()
	spamDir = filepath.Join(dir, "Junk")
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(spamDir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 4 {
		p := filepath.Join(spamDir, "cur", fmt.Sprintf("%d.host:2,S", i))
		if err := os.WriteFile(p, []byte(trainMsg("spam", i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	spamFile = filepath.Join(dir, "one.eml")
	if err := os.WriteFile(spamFile, []byte(trainMsg("spam", 10)), 0o644); err != nil {
		t.Fatal(err)
	}
	var mbox strings.Builder
	for i := range 3 {
		fmt.Fprintf(&mbox, "From ham@example.org Thu Aug 22 13:17:22 2002\n%s\n", trainMsg("ham", i))
	}
	hamMbox = filepath.Join(dir, "ham.mbox")
	if err := os.WriteFile(hamMbox, []byte(mbox.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return spamDir, spamFile, hamMbox
}

func trainCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = runTrainTo(append(args, "--quiet"), &o, &e)
	return code, o.String(), e.String()
}

func TestTrainLearnsDedupsAndUnlearns(t *testing.T) {
	spamDir, spamFile, hamMbox := trainFixture(t)
	model := filepath.Join(t.TempDir(), "bayes.model")
	missing := filepath.Join(t.TempDir(), "nope")

	// Several paths after one --spam, and an unreadable one.
	code, out, errOut := trainCmd(t, "--model", model, "--spam", spamDir, spamFile, missing, "--ham", hamMbox)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"spam: 5 learnt, 0 skipped as duplicates, 1 unreadable",
		"ham:  3 learnt, 0 skipped as duplicates, 0 unreadable",
		"spam: 5 messages", "ham:  3 messages",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, missing) {
		t.Errorf("the unreadable path is not named: %q", errOut)
	}

	// The model on disk, opened afresh, has what was learnt.
	s, err := bayes.OpenFileStore(model)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Stats(); st.Spam != 5 || st.Ham != 3 {
		t.Fatalf("model file stats %+v", st)
	}
	res, _ := bayes.NewModel(s).Classify(engine.NewMessage(engine.Envelope{}, []byte(trainMsg("spam", 99))))
	if res.Spam < 0.9 {
		t.Errorf("a new spam scores %.2f on the trained model", res.Spam)
	}

	// Learning the same again counts nothing.
	_, out, _ = trainCmd(t, "--model", model, "--spam", spamDir, "--ham", hamMbox)
	if !strings.Contains(out, "spam: 0 learnt, 4 skipped as duplicates") || !strings.Contains(out, "ham:  0 learnt, 3 skipped") {
		t.Errorf("relearning:\n%s", out)
	}

	// Unlearn the Maildir.
	_, out, _ = trainCmd(t, "--model", model, "--unlearn", "--spam", spamDir)
	if !strings.Contains(out, "spam: 4 unlearnt") || !strings.Contains(out, "spam: 1 messages") {
		t.Errorf("unlearning:\n%s", out)
	}

	code, out, _ = trainCmd(t, "--model", model, "--stats")
	if code != 0 || !strings.Contains(out, "spam: 1 messages") || !strings.Contains(out, "ham:  3 messages") {
		t.Errorf("--stats exit %d:\n%s", code, out)
	}
}

func TestTrainUsageErrors(t *testing.T) {
	model := filepath.Join(t.TempDir(), "m.model")
	if code, _, _ := trainCmd(t, "--model", model); code != 2 {
		t.Errorf("no paths: exit %d, want 2", code)
	}
	if code, _, _ := trainCmd(t, "--model", model, "stray"); code != 2 {
		t.Errorf("a stray argument: exit %d, want 2", code)
	}
	bad := filepath.Join(t.TempDir(), "bad.model")
	if err := os.WriteFile(bad, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := trainCmd(t, "--model", bad, "--stats"); code != 1 || !strings.Contains(errOut, "not a sluice bayes model") {
		t.Errorf("a corrupt model: exit %d, %q", code, errOut)
	}
}

func TestExpandLists(t *testing.T) {
	got := strings.Join(expandLists(strings.Fields("--model m --spam a b --ham=c d --quiet --spam e"), "spam", "ham"), " ")
	want := "--model m --spam a --spam b --ham=c --ham d --quiet --spam e"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
