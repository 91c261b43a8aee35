package relay

import (
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-smtp"
)

// Error is a failed delivery to one recipient, classified where it arose:
// permanent (a 5xx reply, a null MX, a domain that does not exist) or
// temporary (a 4xx reply, a timeout, a refused connection, a DNS failure).
type Error struct {
	Permanent bool
	Code      int    // SMTP reply code, 0 when the failure was not a reply
	Enhanced  string // enhanced status code (RFC 3463), e.g. "5.1.1"
	Host      string // the MX host or smarthost, when one was reached
	Err       error
}

func (e *Error) Error() string {
	if e.Host != "" {
		return fmt.Sprintf("%s: %v", e.Host, e.Err)
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Status is the RFC 3464 Status field for a DSN.
func (e *Error) Status() string {
	if e.Enhanced != "" {
		return e.Enhanced
	}
	if e.Permanent {
		return "5.0.0"
	}
	return "4.0.0"
}

// Diagnostic is the RFC 3464 Diagnostic-Code field: the remote reply when
// there was one, our own explanation otherwise.
func (e *Error) Diagnostic() string {
	var se *smtp.SMTPError
	if errors.As(e.Err, &se) {
		text := strings.Join(strings.Fields(se.Message), " ")
		if se.EnhancedCode != (smtp.EnhancedCode{}) && se.EnhancedCode != smtp.NoEnhancedCode {
			c := se.EnhancedCode
			return fmt.Sprintf("smtp; %d %d.%d.%d %s", se.Code, c[0], c[1], c[2], text)
		}
		return fmt.Sprintf("smtp; %d %s", se.Code, text)
	}
	return "x-sluice; " + e.Error()
}

// IsPermanent reports whether err is a permanent delivery failure: the
// message must be bounced, not retried.
func IsPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Permanent
}

// temporary and permanent wrap a failure that is not an SMTP reply.
func temporary(host string, err error) *Error { return &Error{Host: host, Err: err} }

func permanent(host, enhanced string, err error) *Error {
	return &Error{Permanent: true, Host: host, Enhanced: enhanced, Err: err}
}

// classify turns an error from the SMTP client into an *Error: replies
// are permanent when 5xx, everything else (4xx, network) is temporary.
func classify(host string, err error) *Error {
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		return temporary(host, err)
	}
	e := &Error{Host: host, Code: se.Code, Permanent: se.Code >= 500 && se.Code < 600, Err: err}
	if c := se.EnhancedCode; c != (smtp.EnhancedCode{}) && c != smtp.NoEnhancedCode && (c[0] == 4 || c[0] == 5) {
		e.Enhanced = fmt.Sprintf("%d.%d.%d", c[0], c[1], c[2])
		// The class of the enhanced code must agree with the reply code.
		if (c[0] == 5) != e.Permanent {
			e.Enhanced = ""
		}
	}
	return e
}
