// Package rdns is the stage that looks up the reverse DNS of the client IP
// (PTR, RFC 1035 section 3.5 and RFC 3596 section 2.5) and checks that a
// PTR name resolves back to the IP: forward-confirmed reverse DNS, the
// "iprev" method of RFC 8601 section 3.
package rdns

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages"
	"github.com/sluicemail/sluice/stages/resolver"
)

// Namespace is the facts namespace of the stage.
const Namespace = "rdns"

// DefaultMaxNames is the default of Settings.MaxNames.
const DefaultMaxNames = 10

func init() {
	stages.Register(Namespace, func(s stages.Settings) (engine.Stage, error) {
		var set Settings
		if err := s.Decode(&set); err != nil {
			return nil, err
		}
		return New(set)
	})
}

// Settings configure the stage under `stages: {rdns: ...}`.
type Settings struct {
	// MaxNames bounds the PTR names whose addresses are looked up, so a
	// hostile reverse zone with hundreds of PTR records costs a bounded
	// number of queries. Default 10.
	MaxNames int `yaml:"max_names"`
}

// Stage checks reverse DNS. It holds no per-message state.
type Stage struct {
	maxNames int
}

// New returns the stage.
func New(set Settings) (*Stage, error) {
	if set.MaxNames < 0 {
		return nil, fmt.Errorf("max_names %d is negative", set.MaxNames)
	}
	if set.MaxNames == 0 {
		set.MaxNames = DefaultMaxNames
	}
	return &Stage{maxNames: set.MaxNames}, nil
}

// Namespace implements engine.Stage.
func (s *Stage) Namespace() string { return Namespace }

// Phase implements engine.Stage: the client IP is known at connect.
func (s *Stage) Phase() engine.Phase { return engine.PhaseConnect }

// Run implements engine.Stage. The result is pass when a PTR name has an
// A or AAAA record equal to the client IP, none when the IP has no PTR
// name, temperror when a lookup failed and nothing was confirmed, and fail
// otherwise.
func (s *Stage) Run(ctx context.Context, in *engine.Input) error {
	f := &in.Facts.Rdns
	*f = engine.RDNSFacts{Result: "none"}
	ip := in.Msg.Envelope.IP.Unmap()
	if !ip.IsValid() {
		return nil
	}
	ptrs, _, err := resolver.LookupPTR(ctx, in.DNS, ip)
	if err != nil {
		f.Result = "temperror"
		return nil
	}
	for _, p := range ptrs {
		if n := strings.TrimSuffix(strings.ToLower(p), "."); n != "" && len(f.Names) < s.maxNames {
			f.Names = append(f.Names, n)
		}
	}
	if len(f.Names) == 0 {
		return nil
	}
	confirmed, errs := s.confirm(ctx, in.DNS, f.Names, ip.String())
	switch {
	case confirmed:
		f.Result, f.FCrDNS = "pass", true
	case errs != nil:
		f.Result = "temperror"
	default:
		f.Result = "fail"
	}
	return nil
}

// confirm looks up the addresses of every name at once and reports whether
// one of them is ip, and the errors of the lookups that failed.
func (s *Stage) confirm(ctx context.Context, r resolver.Resolver, names []string, ip string) (bool, error) {
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		confirmed bool
		errs      []error
	)
	for _, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addrs, _, err := resolver.LookupIP(ctx, r, n)
			mu.Lock()
			defer mu.Unlock()
			for _, a := range addrs {
				if a.Unmap().String() == ip {
					confirmed = true
				}
			}
			if err != nil {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	return confirmed, errors.Join(errs...)
}

// Fail implements engine.Stage: a check that could not finish is
// temperror, never a pass.
func (s *Stage) Fail(f *engine.Facts, err error) {
	f.Rdns = engine.RDNSFacts{Result: "temperror"}
}
