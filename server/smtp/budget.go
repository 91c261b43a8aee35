package smtp

import (
	"io"
	"sync/atomic"

	gosmtp "github.com/emersion/go-smtp"
)

// errBusy refuses a message, temporarily, when the messages being received
// at once would hold more memory than the server allows.
var errBusy = &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 1},
	Message: "Insufficient system resources, try again later"}

// memBudget bounds the bytes of DATA held in memory by all sessions
// together, so that many large messages at once cannot exhaust memory
// (each is read whole before it is checked and queued).
type memBudget struct {
	max  int64
	used atomic.Int64
}

// reader counts what r returns against the budget; release gives it back.
func (b *memBudget) reader(r io.Reader) (*budgetReader, func()) {
	br := &budgetReader{r: r, b: b}
	return br, func() { b.used.Add(-br.n) }
}

type budgetReader struct {
	r io.Reader
	b *memBudget
	n int64
}

func (br *budgetReader) Read(p []byte) (int, error) {
	n, err := br.r.Read(p)
	br.n += int64(n)
	if br.b.used.Add(int64(n)) > br.b.max && err == nil {
		return n, errBusy
	}
	return n, err
}
