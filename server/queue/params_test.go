package queue_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/server/queue"
)

// TestParamsBounce: the relay honours the SMTPUTF8 and REQUIRETLS flags
// the message was queued with. The destination of newSystem offers
// neither SMTPUTF8 nor a certificate the relay can verify, so both
// messages come back to alice, with the RFC status codes, and nothing
// reaches the destination.
func TestParamsBounce(t *testing.T) {
	tests := []struct {
		name   string
		env    queue.Envelope
		raw    string
		status string
	}{
		{"REQUIRETLS", queue.Envelope{RequireTLS: true}, outMsg, "5.7.30"},
		{"SMTPUTF8 header", queue.Envelope{UTF8: true}, strings.Replace(outMsg, "outbound", "Grüße", 1), "5.6.9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSystem(t, nil)
			env := tc.env
			env.From, env.AuthUser, env.Rcpt = "alice@local.test", "alice@local.test", []queue.Recipient{{Addr: "bob@dest.test"}}
			if _, err := s.q.Put(context.Background(), env, []byte(tc.raw)); err != nil {
				t.Fatal(err)
			}
			queue.WaitFor(t, "the DSN", func() bool { return len(s.q.List()) == 0 && len(s.mailbox(t, "alice@local.test", "")) > 0 })
			report := checkDSN(t, s.mailbox(t, "alice@local.test", "")[0])
			if !strings.Contains(report["message/delivery-status"], "Status: "+tc.status) {
				t.Fatalf("DSN status, want %s:\n%s", tc.status, report["message/delivery-status"])
			}
			if got := s.smtp.Messages(); len(got) != 0 {
				t.Fatalf("destination got %+v", got)
			}
		})
	}
}
