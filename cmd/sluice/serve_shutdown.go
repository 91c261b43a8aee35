package main

import (
	"context"
	"sync"
	"time"
)

// drainSessions ends the SMTP and IMAP sessions together, within bound:
// idle clients are told 421 / BYE at once, those in a transaction or a
// command when it ends, and whatever is still open at the bound is cut
// (nothing cut that way was acknowledged).
func (in *instance) drainSessions(bound time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	var wg sync.WaitGroup
	if in.smtp != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := in.smtp.Shutdown(ctx); err != nil {
				in.log.Warn("SMTP sessions cut at shutdown", "err", err)
			}
		}()
	}
	for _, s := range in.imap {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Shutdown(ctx); err != nil {
				in.log.Warn("IMAP sessions cut at shutdown", "err", err)
			}
		}()
	}
	wg.Wait()
}
