// Package health says whether the server can do its work: each dependency
// (DNS resolver, disk headroom, certificate, queue backlog, rule set) is
// checked with a reason, for the admin listener's /readyz and the console.
// /healthz stays a liveness probe; /readyz is what a load balancer or an
// alert should watch.
package health

import (
	"encoding/json"
	"net/http"
)

// Check is one dependency. Run returns nil when it is fine, or an error
// whose text says what is wrong, in words an operator can act on.
type Check struct {
	Name string
	Run  func() error
}

// Status is the result of one Check.
type Status struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Reason string `json:"reason,omitempty"`
}

// Report is the result of every check, in the order given.
type Report struct {
	OK      bool     `json:"ok"`
	Failing []Status `json:"failing,omitempty"`
	Checks  []Status `json:"checks"`
}

// Run runs the checks in order.
func Run(checks []Check) Report {
	r := Report{OK: true, Checks: make([]Status, 0, len(checks))}
	for _, c := range checks {
		s := Status{Name: c.Name, OK: true}
		if err := c.Run(); err != nil {
			s.OK, s.Reason = false, err.Error()
			r.OK = false
			r.Failing = append(r.Failing, s)
		}
		r.Checks = append(r.Checks, s)
	}
	return r
}

// Handler serves the report of checks() as JSON: 200 when every check
// passes, 503 otherwise, so that a probe needs no parsing.
func Handler(checks func() []Check) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep := Run(checks())
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if !rep.OK {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	})
}
