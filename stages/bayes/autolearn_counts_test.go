package bayes

import (
	"testing"
	"time"

	"github.com/sluicemail/sluice/stages"
)

// TestAutolearnCounts: the counts the server's metrics read grow with
// each autolearn and each rollback, not with a message the guards
// refused, and survive a reload that replaces the autolearner.
func TestAutolearnCounts(t *testing.T) {
	dir := t.TempDir()
	build := func(raw string) *Stage {
		t.Helper()
		s, err := stages.New("bayes", stages.Settings{DataDir: dir, Learn: true, Raw: []byte(raw)})
		if err != nil {
			t.Fatal(err)
		}
		return s.(*Stage)
	}
	first := build("model: counts.model\nmin_learns: 5\nautolearn: {spam: 0.99, ham: 0.01, per_sender: 1}\n")
	if err := train(first.Model(), 0, 50); err != nil {
		t.Fatal(err)
	}
	a, now := first.Autolearner(), time.Now()
	if got := a.Counts(); got != (AutolearnCounts{}) {
		t.Fatalf("a new autolearner counts %+v", got)
	}
	if c, _ := a.Consider(campaign(1), 0.999, "promo@deals.example", now); c != Spam {
		t.Fatal("not autolearnt")
	}
	if c, _ := a.Consider(campaign(2), 0.999, "promo@deals.example", now); c != 0 {
		t.Fatal("the sender's cap of 1 let a second one through")
	}
	if c, _ := a.Consider(synthMessage(false, 9007), 0.001, "friend@work.example", now); c != Ham {
		t.Fatal("confident ham not autolearnt")
	}
	if got, want := a.Counts(), (AutolearnCounts{Spam: 1, Ham: 1}); got != want {
		t.Errorf("after two autolearns and a refusal: %+v, want %+v", got, want)
	}
	second := build("model: counts.model\nmin_learns: 5\nautolearn: {spam: 0.98, per_sender: 3}\n")
	if second.Autolearner() == a {
		t.Fatal("new settings kept the autolearner")
	}
	if err := (Trainer{Model: second.Model()}).Learn(campaign(1), false); err != nil {
		t.Fatal(err)
	}
	if got, want := second.Autolearner().Counts(), (AutolearnCounts{Spam: 1, Ham: 1, RolledBack: 1}); got != want {
		t.Errorf("after a reload and a correction: %+v, want %+v", got, want)
	}
}
