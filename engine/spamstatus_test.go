package engine

import "testing"

func TestSpamStatus(t *testing.T) {
	f := SpamStatus(6.5, BayesFacts{Trained: true, Spam: 0.97})
	if f != "X-Sluice-Spam: score=6.5; bayes=0.970\r\n" {
		t.Fatalf("%q", f)
	}
	score, bayes, hasBayes, ok := ParseSpamStatus(" score=6.5; bayes=0.970")
	if !ok || !hasBayes || score != 6.5 || bayes != 0.97 {
		t.Fatalf("parse: %v %v %v %v", score, bayes, hasBayes, ok)
	}
	if _, _, _, ok := ParseSpamStatus("score=lots"); ok {
		t.Fatal("a forged value parsed")
	}
	raw := "X-Sluice-Spam: score=-100\r\n  folded\r\nSubject: hi\r\nx-sluice-spam: score=0\r\n\r\nX-Sluice-Spam: in the body\r\n"
	if got := string(StripSpamStatus([]byte(raw))); got != "Subject: hi\r\n\r\nX-Sluice-Spam: in the body\r\n" {
		t.Fatalf("strip: %q", got)
	}
}
