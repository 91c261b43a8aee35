package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestCheckNeverLearns: a dry run given the server's data directory, to
// score with the live Bayes model, over rules that autolearn (thresholds
// and a rule's learn:), reports what the server would learn and leaves
// the model and its autolearn log as they were; it runs beside the
// server, whose sender book it cannot open, and says so. Before the stages were told
// whether they may learn, `sluice check --data` autolearnt the sample
// spam and wrote the record to the live log, whose rollback a later
// Junk move would then have applied to a model that never learnt it.
func TestCheckNeverLearns(t *testing.T) {
	dir := t.TempDir()
	// The rules with the sample messages beside them, as their tests expect.
	rulesDir, data := filepath.Join(dir, "examples", "rules"), filepath.Join(dir, "data")
	if err := os.CopyFS(filepath.Join(dir, "examples"), os.DirFS("../../examples")); err != nil {
		t.Fatal(err)
	}
	inbound := filepath.Join(rulesDir, "inbound.yaml")
	b, err := os.ReadFile(inbound)
	if err != nil {
		t.Fatal(err)
	}
	const stage = "  bayes: {model: bayes.model, min_learns: 200}"
	if !bytes.Contains(b, []byte(stage)) {
		t.Fatalf("%s no longer configures bayes as %q", inbound, stage)
	}
	// Thresholds every sample message meets one way or the other.
	b = bytes.Replace(b, []byte(stage), []byte("  bayes: {model: bayes.model, min_learns: 1, autolearn: {spam: 0.6, ham: 0.4}}"), 1)
	// And a rule's learn:, first so that every message reaches it.
	b = bytes.Replace(b, []byte("\nrules:\n"), []byte("\nrules:\n  - name: teach-won\n    when: msg.subject contains \"WON\"\n    learn: spam\n"), 1)
	if err := os.WriteFile(inbound, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	model, err := os.ReadFile("../../examples/rules/testdata/bayes.model")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "bayes.model"), model, 0o644); err != nil {
		t.Fatal(err)
	}
	// The running server holds its sender book (bbolt's lock): the dry
	// run must go on beside it.
	book := filepath.Join(data, "senders.db")
	db, err := bolt.Open(book, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	bookBefore, _ := os.ReadFile(book)
	out, errOut, code := runSluice(t, "check", "--json", "--facts", "--rules", rulesDir, "--data", data,
		"--dns", "examples/rules/testdata/zone.txt", "examples/messages")
	if code != 0 && code != 1 {
		t.Fatalf("check exited %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "sender book in use by the running server") {
		t.Errorf("the dry run did not say it could not read the held sender book:\n%s", errOut)
	}
	if after, _ := os.ReadFile(book); !bytes.Equal(after, bookBefore) {
		t.Error("the dry run changed the sender book")
	}
	// The model scored the mail (so the stage ran with the live model),
	// and the report says what the server would learn...
	if !strings.Contains(out, `"trained":true`) {
		t.Fatalf("no message was scored by the trained model:\n%s\n%s", out, errOut)
	}
	if n := strings.Count(out, `"learn":"spam"`); n != 1 {
		t.Errorf("%d messages reported with learn: spam, want the spam's:\n%s", n, out)
	}
	// ...and nothing was learnt.
	if _, err := os.Stat(filepath.Join(data, "bayes.model.autolearn")); !os.IsNotExist(err) {
		b, _ := os.ReadFile(filepath.Join(data, "bayes.model.autolearn"))
		t.Errorf("the dry run wrote an autolearn log (%v):\n%s", err, b)
	}
	after, err := os.ReadFile(filepath.Join(data, "bayes.model"))
	if err != nil || !bytes.Equal(after, model) {
		t.Errorf("the dry run changed the model file (%v)", err)
	}
}

// TestCheckAgainstShowsLearn: a rule set that only adds a learn: rule
// changes no action, yet check --against shows each message whose
// learning changes, and counts them.
func TestCheckAgainstShowsLearn(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "examples"), os.DirFS("../../examples")); err != nil {
		t.Fatal(err)
	}
	next := filepath.Join(dir, "examples", "rules")
	inbound := filepath.Join(next, "inbound.yaml")
	b, err := os.ReadFile(inbound)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte("  bayes: {model: bayes.model, min_learns: 200}"), []byte("  bayes: {model: bayes.model, min_learns: 200, autolearn: {per_sender: 20}}"), 1)
	b = bytes.Replace(b, []byte("\nrules:\n"), []byte("\nrules:\n  - name: teach-won\n    when: msg.subject contains \"WON\"\n    learn: spam\n"), 1)
	if err := os.WriteFile(inbound, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runSluice(t, "check", "--rules", next, "--against", "examples/rules",
		"--dns", "examples/rules/testdata/zone.txt", "examples/messages")
	if code != 0 && code != 1 {
		t.Fatalf("check exited %d: %s", code, errOut)
	}
	for _, want := range []string{"examples/messages/spam.eml: reject -> reject", "    learn before: (none)\n", "    learn: spam (in the server; not in this dry run)\n",
		", 0 change action against examples/rules, 1 change what a rule's learn: teaches the model"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "plain.eml: accept -> accept") {
		t.Errorf("a message whose action and learning did not change was listed:\n%s", out)
	}
	js, _, _ := runSluice(t, "check", "--json", "--rules", next, "--against", "examples/rules",
		"--dns", "examples/rules/testdata/zone.txt", "examples/messages")
	if !strings.Contains(js, `"learn":"spam"`) || !strings.Contains(js, `"learn_changed":1`) {
		t.Errorf("JSON lacks the learn change:\n%s", js)
	}
}
