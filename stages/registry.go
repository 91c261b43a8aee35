// Package stages holds the registry of checks. Each check lives in its own
// package under stages/ (rdns, dnsbl and uribl, spf, dkim, dmarc, arc, bayes),
// registers a Factory under its namespace in init, and is built once per
// rule set from its settings block. The shared DNS resolver is in
// stages/resolver.
package stages

import (
	"bytes"
	"fmt"
	"sort"
	"sync"

	"github.com/goccy/go-yaml"
	"github.com/sluicemail/sluice/engine"
)

// Settings is what a stage is built from.
type Settings struct {
	// Raw is the YAML of the stage's block under `stages:` in the rule file,
	// empty when the rule file does not configure the stage.
	Raw []byte
	// Dir is the rule file's directory, for relative paths in settings.
	Dir string
	// DataDir is the server's data directory ("" in dry runs without one).
	DataDir string
	// Learn lets a stage learn from the mail it sees (the Bayes
	// autolearner). Only a server's live rule set has it: a dry run, a
	// replay or a shadow rule set may read the data directory's model and
	// must not change it.
	Learn bool
	// Config is the YAML of the server config's block for this stage's
	// namespace (`arc:` in sluice.yaml for the arc stage), empty outside
	// a server or when the config has none. Server-wide choices live
	// there; the stage reads them without knowing the server.
	Config []byte
}

// Decode unmarshals the settings into v, strictly: an unknown key is an
// error, so a misspelt setting is reported at load. Empty settings leave v
// at its defaults.
func (s Settings) Decode(v any) (err error) {
	if len(bytes.TrimSpace(s.Raw)) == 0 {
		return nil
	}
	// go-yaml v1.19 panics on some malformed input (a tag on a number
	// decoded into a struct); a broken rule file must be an error, never a
	// crashed reload.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("cannot decode settings: %v", p)
		}
	}()
	return yaml.UnmarshalWithOptions(s.Raw, v, yaml.Strict())
}

// Factory builds a stage from its settings.
type Factory func(Settings) (engine.Stage, error)

var (
	mu        sync.RWMutex
	factories = map[string]Factory{}
)

// Register makes a stage available under its namespace. It panics on a
// duplicate, which is a programming error.
func Register(namespace string, f Factory) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := factories[namespace]; dup {
		panic("stages: duplicate registration of " + namespace)
	}
	factories[namespace] = f
}

// New builds the stage registered under namespace.
func New(namespace string, s Settings) (engine.Stage, error) {
	mu.RLock()
	f := factories[namespace]
	mu.RUnlock()
	if f == nil {
		return nil, fmt.Errorf("unknown stage %q (known: %v)", namespace, Names())
	}
	st, err := f(s)
	if err != nil {
		return nil, fmt.Errorf("stage %s: %w", namespace, err)
	}
	return st, nil
}

// Has reports whether a stage is registered under namespace.
func Has(namespace string) bool {
	mu.RLock()
	defer mu.RUnlock()
	return factories[namespace] != nil
}

// Names returns the registered namespaces, sorted.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(factories))
	for n := range factories {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
