package imap

import (
	"sync"
	"time"
)

// ipFactor is how many more failures one IP may have across all accounts
// than for one account.
const ipFactor = 5

// limiter counts failed logins per IP and per (IP, account) and locks out
// what fails too often: max failures for one account from one IP within
// the window block that account from that IP, even with the right
// password, so guessing cannot go on; ipFactor*max failures block the IP
// for every account. A phone with a stale password thus locks out only
// its own account, not the whole household behind the same NAT address.
type limiter struct {
	max    int
	window time.Duration

	mu       sync.Mutex
	failures map[string][]time.Time // by "ip" and by "ip user"
}

func newLimiter(max int, window time.Duration) *limiter {
	return &limiter{max: max, window: window, failures: map[string][]time.Time{}}
}

// blocked reports whether logins of user from ip are locked out.
func (l *limiter) blocked(ip, user string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	return len(l.recent(ip+" "+user, now)) >= l.max || len(l.recent(ip, now)) >= ipFactor*l.max
}

// fail records a failed login of user from ip.
func (l *limiter) fail(ip, user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	for _, k := range []string{ip, ip + " " + user} {
		l.failures[k] = append(l.recent(k, now), now)
	}
	if len(l.failures) > 20000 { // bound memory under a distributed attack
		for k := range l.failures {
			l.recent(k, now)
		}
	}
}

// recent drops failures older than the window and returns the rest.
func (l *limiter) recent(key string, now time.Time) []time.Time {
	list := l.failures[key]
	i := 0
	for i < len(list) && now.Sub(list[i]) > l.window {
		i++
	}
	list = list[i:]
	if len(list) == 0 {
		delete(l.failures, key)
		return nil
	}
	l.failures[key] = list
	return list
}
