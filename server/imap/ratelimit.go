package imap

import (
	"sync"
	"time"
)

// limiter counts failed logins per IP and locks out an IP that fails too
// often, whatever account it tries: a correct password from a locked-out
// IP is refused too, so guessing cannot go on once the limit is reached.
type limiter struct {
	max    int
	window time.Duration

	mu       sync.Mutex
	failures map[string][]time.Time
}

func newLimiter(max int, window time.Duration) *limiter {
	return &limiter{max: max, window: window, failures: map[string][]time.Time{}}
}

// blocked reports whether ip has reached the limit within the window.
func (l *limiter) blocked(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recent(ip, time.Now())) >= l.max
}

// fail records a failed login from ip.
func (l *limiter) fail(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	l.failures[ip] = append(l.recent(ip, now), now)
	if len(l.failures) > 10000 { // bound memory under a distributed attack
		for k, v := range l.failures {
			if len(l.recent(k, now)) == 0 || len(v) == 0 {
				delete(l.failures, k)
			}
		}
	}
}

// recent drops failures older than the window and returns the rest.
func (l *limiter) recent(ip string, now time.Time) []time.Time {
	list := l.failures[ip]
	i := 0
	for i < len(list) && now.Sub(list[i]) > l.window {
		i++
	}
	list = list[i:]
	if len(list) == 0 {
		delete(l.failures, ip)
		return nil
	}
	l.failures[ip] = list
	return list
}
