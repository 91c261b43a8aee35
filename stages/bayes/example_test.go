package bayes

import (
	"os"
	"path/filepath"
	"testing"
)

// The example rules' tests (examples/rules) use a model trained on 200
// synthetic spam and 200 synthetic ham, so that bayes.trained holds with
// the example's min_learns of 200, and one message of each kind it was not
// trained on. Regenerate them after a change of TokenizerVersion with
//
//	SLUICE_WRITE_EXAMPLE_MODEL=1 go test -run TestExampleModel ./stages/bayes/
const exampleDir = "../../examples/rules/testdata"

func TestExampleModel(t *testing.T) {
	model := filepath.Join(exampleDir, "bayes.model")
	spamMsg := filepath.Join(exampleDir, "bayes-spam.eml")
	hamMsg := filepath.Join(exampleDir, "bayes-ham.eml")
	if os.Getenv("SLUICE_WRITE_EXAMPLE_MODEL") != "" {
		os.Remove(model)
		s, err := OpenFileStore(model)
		if err != nil {
			t.Fatal(err)
		}
		if err := train(NewModel(s), 0, 200); err != nil {
			t.Fatal(err)
		}
		if err := s.Save(); err != nil {
			t.Fatal(err)
		}
		os.Remove(model + ".lock")
		for path, raw := range map[string][]byte{spamMsg: synthMessage(true, 5000), hamMsg: synthMessage(false, 5000)} {
			if err := os.WriteFile(path, raw, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := os.Stat(model); err != nil {
		t.Fatalf("example model missing: %v", err)
	}
	s, err := OpenFileStore(model)
	if err != nil {
		t.Fatal(err)
	}
	st := NewStage(NewModel(s), DefaultMinLearns)
	// The unsure case the example rule tests use: between 0.9 and 0.99.
	unsure := "From: friend@work.example\nTo: me@home.example\nSubject: Re: project\n" +
		"Date: Mon, 16 Nov 2026 10:00:00 +0000\nMessage-ID: <u1@work.example>\n\n" +
		"cheap pills offer viagra winner lottery prize claim free money casino kernel\n"
	if f, _ := evaluate(t, st, []byte(unsure)); !f.Trained || f.Spam < 0.9 || f.Spam >= 0.99 {
		t.Errorf("the unsure example scores %.3f, want [0.9, 0.99)", f.Spam)
	}
	for path, spam := range map[string]bool{spamMsg: true, hamMsg: false} {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := evaluate(t, st, raw)
		if !f.Trained || spam && f.Spam < 0.99 || !spam && f.Spam > 0.01 {
			t.Errorf("%s: facts %+v; regenerate the example model (see the comment above)", path, f)
		}
	}
}
