package queue

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetricsLint(t *testing.T) {
	q, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if problems, err := testutil.CollectAndLint(q); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", err, problems)
	}
	if n := testutil.CollectAndCount(q, "sluice_queue_messages"); n != 1 {
		t.Errorf("sluice_queue_messages: %d series", n)
	}
}
