// Package dnsbl holds the two stages that look things up in DNS lists as
// RFC 5782 describes them. Stage dnsbl looks the client IP up in block and
// allow lists (DNSBL, DNSWL) at connection time; stage uribl looks the
// envelope sender's, the From's and the URLs' domains up in domain lists
// (RHSBL, DBL, URIBL) once the message has arrived. Both share the
// settings, the query names, the mapping of return codes to tags and
// scores, and the rule that an answer signalling a refused query is an
// error, never a listing.
//
// They are two stages because a stage runs once per message, in one phase,
// and fills one namespace. Were the domain lists part of dnsbl, the whole
// stage would wait for DATA as soon as one was configured, and a rule on
// dnsbl.listed would silently stop refusing listed clients at RCPT.
package dnsbl

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages"
)

// The facts namespaces of the two stages.
const (
	Namespace    = "dnsbl" // IP lists
	URINamespace = "uribl" // domain lists
)

// Kind is what a stage's lists look up, and so which stage it is.
type Kind int

const (
	// IPLists look up the client IP (RFC 5782 section 2.1): stage dnsbl.
	IPLists Kind = iota
	// DomainLists look up domain names (RFC 5782 section 2.3): stage uribl.
	DomainLists
)

// namespace returns the namespace of the stage of kind k.
func (k Kind) namespace() string {
	if k == DomainLists {
		return URINamespace
	}
	return Namespace
}

func init() {
	for _, k := range []Kind{IPLists, DomainLists} {
		stages.Register(k.namespace(), func(s stages.Settings) (engine.Stage, error) {
			var set Settings
			if err := s.Decode(&set); err != nil {
				return nil, err
			}
			return New(k, set)
		})
	}
}

// Stage queries the configured lists of one kind. It holds no per-message
// state.
type Stage struct {
	kind       Kind
	lists      []*list
	maxDomains int  // domain lists only
	queryLocal bool // IP lists only
}

// New validates the settings of a stage of the given kind and returns it.
func New(kind Kind, set Settings) (*Stage, error) {
	lists, err := set.compileAll(kind)
	if err != nil {
		return nil, err
	}
	s := &Stage{kind: kind, lists: lists, maxDomains: set.MaxDomains, queryLocal: set.QueryLocal}
	if s.maxDomains == 0 {
		s.maxDomains = DefaultMaxDomains
	}
	return s, nil
}

// Namespace implements engine.Stage: dnsbl or uribl.
func (s *Stage) Namespace() string { return s.kind.namespace() }

// Phase implements engine.Stage. It follows from the kind alone, never from
// the settings, so that adding a list cannot move the rules that read the
// stage to a later phase. IP lists need only the connection: a rule on
// dnsbl can refuse a listed client before it sends anything. Domain lists
// need the From header and the body's URLs, known after DATA.
func (s *Stage) Phase() engine.Phase {
	if s.kind == DomainLists {
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
	*s.facts(in.Facts) = summarize(s.Namespace(), out)
	return nil
}

// facts returns the namespace the stage fills.
func (s *Stage) facts(f *engine.Facts) *engine.DNSBLFacts {
	if s.kind == DomainLists {
		return &f.Uribl
	}
	return &f.Dnsbl
}

// jobs lists the queries for a message, in configuration order.
func (s *Stage) jobs(m *engine.Message) []job {
	if len(s.lists) == 0 {
		return nil // spare an unconfigured uribl the parsing of the body
	}
	if s.kind == DomainLists {
		return s.domainJobs(m)
	}
	ip := m.Envelope.IP.Unmap() // a v4 client on a dual-stack socket is queried as v4
	if !ip.IsValid() || !s.queryLocal && isLocal(ip) {
		return nil
	}
	jobs := make([]job, 0, len(s.lists))
	for _, l := range s.lists {
		jobs = append(jobs, job{list: l, item: ip.String(), name: IPQueryName(ip, l.zone)})
	}
	return jobs
}

// domainJobs looks every domain of the message up in every list.
func (s *Stage) domainJobs(m *engine.Message) []job {
	var jobs []job
	domains := domainItems(m, s.maxDomains)
	for _, l := range s.lists {
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
func summarize(stage string, out []outcome) engine.DNSBLFacts {
	f := engine.DNSBLFacts{Result: "none"}
	zones := map[string]bool{}
	failed := map[string]bool{}
	for _, o := range out {
		if o.err != nil {
			level := slog.LevelInfo
			if errors.Is(o.err, engine.ErrNoDNS) {
				level = slog.LevelDebug // a rule test or dry run without DNS, by design
			}
			slog.Log(context.Background(), level, "dns list lookup failed", "stage", stage, "zone", o.zone, "err", o.err)
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
// temperror in the stage's own namespace, never a listing and never a pass.
func (s *Stage) Fail(f *engine.Facts, err error) {
	*s.facts(f) = engine.DNSBLFacts{Result: "temperror", Errors: []string{err.Error()}, ListedIn: func(string) bool { return false }}
}

// Zones returns the configured zones, for `sluice rules env` and logs.
func (s *Stage) Zones() []string {
	var z []string
	for _, l := range s.lists {
		z = append(z, l.zone)
	}
	return slices.Clip(z)
}
