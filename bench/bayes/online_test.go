package main

import (
	"fmt"
	"testing"

	"github.com/sluicemail/sluice/stages/bayes"
)

// lr:age=N gives the learner the stage's aging at N: past N messages the
// counts halve; a bad N is refused.
func TestParseLRAge(t *testing.T) {
	for _, bad := range []string{"age=x", "age=-5"} {
		if _, err := parseLR(bad); err == nil {
			t.Errorf("-learner lr:%s accepted", bad)
		}
	}
	for _, tc := range []struct {
		spec string
		want int // messages held after learning 5
	}{{"age=0", 5}, {"age=4", 2}} {
		m, err := parseLR(tc.spec)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			class := bayes.Ham
			if i%2 == 0 {
				class = bayes.Spam
			}
			raw := fmt.Appendf(nil, "Subject: message %d\r\n\r\nbody words %d\r\n", i, i)
			if _, err := m.Learn(raw, class); err != nil {
				t.Fatal(err)
			}
		}
		st, _ := m.Stats()
		if st.Spam+st.Ham != tc.want {
			t.Errorf("lr:%s after 5 learns holds %d+%d messages, want %d", tc.spec, st.Spam, st.Ham, tc.want)
		}
	}
}
