package dnsbl

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"

	"github.com/miekg/dns"
	"github.com/sluicemail/sluice/stages/resolver"
)

// ErrUnhealthy is a list that fails the RFC 5782 section 5 test entries.
var ErrUnhealthy = errors.New("list fails its RFC 5782 test entries")

// HealthCheck asks every configured list for the test entries RFC 5782
// section 5 makes every list publish: 127.0.0.2 (or TEST for a domain
// list) must be listed and 127.0.0.1 (or INVALID) must not. A list that
// fails is broken, expired or answering everything, and its hits mean
// nothing. The result maps each failing zone to its error (wrapping
// ErrUnhealthy, or a temporary DNS error); it is empty when all are well.
// The server may call it at start-up and on reload, and log the result.
func (s *Stage) HealthCheck(ctx context.Context, r resolver.Resolver) map[string]error {
	out := map[string]error{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, l := range s.lists {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.health(ctx, r); err != nil {
				mu.Lock()
				out[l.zone] = err
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return out
}

func (l *list) health(ctx context.Context, r resolver.Resolver) error {
	listed, clean := IPQueryName(netip.MustParseAddr("127.0.0.2"), l.zone), IPQueryName(netip.MustParseAddr("127.0.0.1"), l.zone)
	if l.domain {
		listed, clean = "test."+l.zone+".", "invalid."+l.zone+"."
	}
	for name, want := range map[string]bool{listed: true, clean: false} {
		a, err := r.Query(ctx, name, dns.TypeA)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if got := a.Status == resolver.Success; got != want {
			return fmt.Errorf("%w: %s listed=%v, want %v", ErrUnhealthy, name, got, want)
		}
	}
	return nil
}
