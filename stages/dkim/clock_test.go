package dkim

import (
	"time"
	_ "unsafe" // for go:linkname
)

// msgauthNow is go-msgauth's unexported clock (dkim.now). VerifyOptions
// take no clock, so the x= expiry vectors can only be checked at their
// verify_at time by setting it here, in tests only. Tests that set it must
// not run in parallel.
//
//go:linkname msgauthNow github.com/emersion/go-msgauth/dkim.now
var msgauthNow func() time.Time

// atClock runs f with go-msgauth's clock set to t.
func atClock(t time.Time, f func()) {
	saved := msgauthNow
	msgauthNow = func() time.Time { return t }
	defer func() { msgauthNow = saved }()
	f()
}
