package doctor_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/server/doctor"
)

func TestSoftBounceCheck(t *testing.T) {
	for _, on := range []bool{false, true} {
		var got []doctor.Result
		for _, c := range doctor.Checks {
			if c.Name == "soft-bounce" {
				got = c.Run(context.Background(), &doctor.Env{SoftBounce: on})
			}
		}
		if !on && (len(got) != 1 || got[0].Status != doctor.OK) {
			t.Errorf("soft bounce off: %+v", got)
		}
		if on && (len(got) != 1 || got[0].Status != doctor.Warn || !strings.Contains(got[0].Detail, "soft_bounce is on")) {
			t.Errorf("soft bounce on: %+v", got)
		}
	}
}
