package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/rules"
	"github.com/sluicemail/sluice/server/console"
	"github.com/sluicemail/sluice/server/health"
	"github.com/sluicemail/sluice/server/verdicts"
)

// recentVerdicts is how many verdicts the console keeps in memory.
const recentVerdicts = 2000

// console builds the web console of the admin listener. Its verdicts are
// the recent ones in memory, and the verdict journal's for an explanation
// (the story `sluice explain` tells, found even when the ring forgot it).
func (in *instance) console() http.Handler {
	src := &verdicts.Journaled{Source: in.verdicts, Dir: journalDir(in.cfg), Logger: in.log}
	var shadowPipeline func(string) *engine.Pipeline
	if in.shadowRules != nil {
		shadowPipeline = func(name string) *engine.Pipeline { return in.shadowRules.Current().Pipeline(name) }
	}
	return console.New(console.Options{ShadowPipeline: shadowPipeline,
		Accounts: in.accounts, DataDir: in.cfg.Data, Verdicts: src, Queue: in.queue,
		Pipeline:   func(name string) *engine.Pipeline { return in.live.Current().Pipeline(name) },
		DNS:        in.dns,
		Ready:      func() health.Report { return health.Run(in.readiness()) },
		Readings:   in.readings,
		RulesDir:   in.live.Dir,
		RulesError: in.live.LastError,
		RuleTests:  func(ctx context.Context) []rules.TestResult { return in.live.Current().RunTests(ctx) },
		Logger:     in.log,
	})
}

// readings are the figures the console's overview shows beside the checks.
func (in *instance) readings() [][2]string {
	var out [][2]string
	if in.headroom != nil {
		out = append(out, [2]string{"data free", fmt.Sprintf("%.1f GB in %s", float64(in.headroom.Free())/1e9, in.cfg.Data)})
	}
	if in.certs != nil {
		if na := in.certs.NotAfter(); !na.IsZero() {
			out = append(out, [2]string{"certificate", fmt.Sprintf("expires %s (in %d days)", na.UTC().Format(time.DateOnly), int(time.Until(na).Hours()/24))})
		}
	}
	return out
}
