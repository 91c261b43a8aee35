package bayes

import (
	"sync"
	"testing"
	"time"
)

// TestAutolearnHandoverShared is for -race: after a reload with new
// autolearn settings, messages still in flight on the old rule set learn
// through the old autolearner while the Junk trainer corrects through the
// new one; the records they share are guarded by one lock, and a message
// the old one learnt is rolled back by the new one.
func TestAutolearnHandoverShared(t *testing.T) {
	m := NewModel(NewMemoryStore())
	if err := train(m, 0, 20); err != nil {
		t.Fatal(err)
	}
	old, err := m.autolearnerFor(AutolearnSettings{Spam: 0.99, PerSender: 1000}, "")
	if err != nil {
		t.Fatal(err)
	}
	next, err := m.autolearnerFor(AutolearnSettings{Spam: 0.98, PerSender: 1000}, "")
	if err != nil || next == old {
		t.Fatalf("new settings: %v, same autolearner %v", err, next == old)
	}
	now := time.Now()
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 40 {
			if _, err := old.Learn(campaign(i), Spam, "promo@deals.example", now); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Go(func() {
		for i := range 40 {
			if _, err := next.Learn(campaign(100+i), Spam, "other@deals2.example", now); err != nil {
				t.Error(err)
			}
			if _, err := next.Corrected(campaign(100+i), now); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	if ok, err := next.Corrected(campaign(3), now); err != nil || !ok {
		t.Errorf("the new autolearner did not roll back what the old one learnt: %v %v", ok, err)
	}
}
