package main

import (
	"fmt"
	"strings"

	"github.com/sluicemail/sluice/rules"
	"github.com/sluicemail/sluice/server/config"
)

// lintOptions are the rule options of `rules lint`: with a config, those
// the server loads its rules with, the relay-safety proof included.
func lintOptions(confPath, dataDir string) (rules.Options, rules.RelayPolicy, error) {
	if confPath == "" {
		return rules.Options{DataDir: dataDir}, rules.RelayPolicy{}, nil
	}
	cfg, err := config.Load(confPath)
	if err != nil {
		return rules.Options{}, rules.RelayPolicy{}, err
	}
	o, err := rulesOptions(cfg, nil)
	if err != nil {
		return o, rules.RelayPolicy{}, err
	}
	if dataDir != "" {
		o.DataDir = dataDir
	}
	return o, *o.Relay, nil
}

// printRelayProof says what the relay-safety proof established. Without
// the config the local domains are unknown: a redirect it cannot place
// otherwise is reported as not proven rather than refused.
func printRelayProof(set *rules.Set, pol rules.RelayPolicy, withConfig bool) {
	proven, errs := set.ProveRelaySafety(pol)
	if len(errs) == 0 {
		fmt.Println("relay safety proven: no rule can send mail from an unauthenticated sender to a non-local address")
	} else {
		fmt.Println("relay safety:")
	}
	for _, p := range proven {
		fmt.Println("  proven: " + p)
	}
	for _, e := range errs {
		msg := e.Error()
		if !withConfig {
			msg = strings.Replace(msg, "relay safety: ", "not proven without --config (local domains unknown): ", 1)
		}
		fmt.Println("  " + msg)
	}
}
