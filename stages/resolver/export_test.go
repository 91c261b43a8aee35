package resolver

import "time"

// SetClock replaces the clock of c's cache, so tests can let TTLs run out
// without sleeping.
func SetClock(c *Client, now func() time.Time) { c.cache.now = now }
