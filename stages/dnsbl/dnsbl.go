// Package dnsbl is the stage that looks the client IP up in DNS block and
// allow lists, and the sender, From and URL domains up in domain lists, as
// RFC 5782 describes them (DNSBL, DNSWL, RHSBL/DBL/URIBL). Return codes
// map to tags and scores; answers that signal a refused query are errors,
// never listings.
package dnsbl

import (
	"context"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages"
)

// Namespace is the facts namespace of the stage.
const Namespace = "dnsbl"

func init() {
	stages.Register(Namespace, func(s stages.Settings) (engine.Stage, error) {
		var set Settings
		if err := s.Decode(&set); err != nil {
			return nil, err
		}
		return New(set)
	})
}

// Stage queries the configured lists. It holds no per-message state.
type Stage struct {
	lists      []*list
	maxDomains int
	hasDomain  bool
	queryLocal bool
}

// New validates the settings and returns the stage.
func New(set Settings) (*Stage, error) {
	lists, err := set.compileAll()
	if err != nil {
		return nil, err
	}
	s := &Stage{lists: lists, maxDomains: set.MaxDomains, queryLocal: set.QueryLocal}
	if s.maxDomains == 0 {
		s.maxDomains = DefaultMaxDomains
	}
	for _, l := range lists {
		s.hasDomain = s.hasDomain || l.domain
	}
	return s, nil
}

// Namespace implements engine.Stage.
func (s *Stage) Namespace() string { return Namespace }

// Phase implements engine.Stage. A stage has one phase and its facts are
// one namespace, filled by one run. IP lists need only the connection, so
// without domain lists the stage runs at connect and a rule can refuse a
// listed client before it sends anything. Domain lists need the From
// header and the body's URLs, so once one is configured the whole stage
// waits for DATA: running at connect would leave the domain hits out of
// the facts for good, since a stage runs once per message.
func (s *Stage) Phase() engine.Phase {
	if s.hasDomain {
		return engine.PhaseData
	}
	return engine.PhaseConnect
}

// Run implements engine.Stage: every query of the message runs at once,
// each bounded by ctx.
func (s *Stage) Run(ctx context.Context, in *engine.Input) error {
	jobs := s.jobs(in.Msg)
	out := make([]outcome, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = lookup(ctx, in.DNS, j)
		}()
	}
	wg.Wait()
	in.Facts.Dnsbl = summarize(out)
	return nil
}

// jobs lists the queries for a message, in configuration order.
func (s *Stage) jobs(m *engine.Message) []job {
	var jobs []job
	ip := m.Envelope.IP.Unmap() // a v4 client on a dual-stack socket is queried as v4
	if !s.queryLocal && isLocal(ip) {
		ip = netip.Addr{}
	}
	var domains []string
	if s.hasDomain {
		domains = domainItems(m, s.maxDomains)
	}
	for _, l := range s.lists {
		if !l.domain {
			if ip.IsValid() {
				jobs = append(jobs, job{list: l, item: ip.String(), name: IPQueryName(ip, l.zone)})
			}
			continue
		}
		for _, d := range domains {
			if name, ok := DomainQueryName(d, l.zone); ok {
				jobs = append(jobs, job{list: l, item: d, name: name})
			}
		}
	}
	return jobs
}

// isLocal reports whether ip is an address public lists cannot know.
func isLocal(ip netip.Addr) bool {
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified()
}

// summarize turns the outcomes into the facts.
func summarize(out []outcome) engine.DNSBLFacts {
	f := engine.DNSBLFacts{Result: "none"}
	zones := map[string]bool{}
	failed := map[string]bool{}
	for _, o := range out {
		if o.err != nil {
			slog.Info("dns list lookup failed", "zone", o.zone, "err", o.err)
			if !failed[o.zone] {
				failed[o.zone] = true
				f.Errors = append(f.Errors, o.zone)
			}
			continue
		}
		if o.hit == nil {
			continue
		}
		f.Hits = append(f.Hits, *o.hit)
		f.Score += o.hit.Score
		zones[o.hit.Zone] = true
		if o.hit.Allow {
			f.Allowed = true
		} else {
			f.Listed = true
		}
	}
	switch {
	case f.Listed:
		f.Result = "listed"
	case f.Allowed:
		f.Result = "allowed"
	case len(f.Errors) > 0:
		f.Result = "temperror"
	}
	f.ListedIn = func(zone string) bool {
		return zones[strings.TrimSuffix(strings.ToLower(zone), ".")]
	}
	return f
}

// Fail implements engine.Stage: lists that could not be asked give
// temperror, never a listing and never a pass.
func (s *Stage) Fail(f *engine.Facts, err error) {
	f.Dnsbl = engine.DNSBLFacts{Result: "temperror", Errors: []string{err.Error()}, ListedIn: func(string) bool { return false }}
}

// Zones returns the configured zones, for `sluice rules env` and logs.
func (s *Stage) Zones() []string {
	var z []string
	for _, l := range s.lists {
		z = append(z, l.zone)
	}
	return slices.Clip(z)
}
