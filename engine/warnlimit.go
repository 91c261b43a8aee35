package engine

import (
	"log/slog"
	"sync"
	"time"
)

// warnInterval is the least time between two WARN lines of one kind of
// state failure.
const warnInterval = 10 * time.Second

// limitedWarn writes one WARN line per warnInterval for a failure that
// can hit every message (the shared state, Redis, down under load: a
// line per message was 1,923 lines in 3 s), then says how many it left
// out. Each verdict still records its own temperror in its facts and the
// journal; the log only has to say that, and since when, the state fails.
type limitedWarn struct {
	mu      sync.Mutex
	last    time.Time
	dropped int
	now     func() time.Time              // time.Now when nil
	emit    func(msg string, args ...any) // slog.Warn when nil
}

func (l *limitedWarn) warn(msg string, args ...any) {
	l.mu.Lock()
	now := time.Now()
	if l.now != nil {
		now = l.now()
	}
	if !l.last.IsZero() && now.Sub(l.last) < warnInterval {
		l.dropped++
		l.mu.Unlock()
		return
	}
	dropped := l.dropped
	l.last, l.dropped = now, 0
	emit := l.emit
	l.mu.Unlock()
	if dropped > 0 {
		args = append(args, "left_out", dropped)
	}
	if emit == nil {
		emit = slog.Warn
	}
	emit(msg, args...)
}

// The state failures that are logged at most once per warnInterval.
var rateWarn, greylistWarn limitedWarn
