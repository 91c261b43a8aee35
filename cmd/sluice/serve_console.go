package main

import (
	"context"
	"net/http"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/rules"
	"github.com/sluicemail/sluice/server/console"
	"github.com/sluicemail/sluice/server/health"
)

// recentVerdicts is how many verdicts the console keeps in memory.
const recentVerdicts = 2000

// console builds the web console of the admin listener.
func (in *instance) console() http.Handler {
	return console.New(console.Options{
		Accounts: in.accounts, DataDir: in.cfg.Data, Verdicts: in.verdicts, Queue: in.queue,
		Pipeline:   func(name string) *engine.Pipeline { return in.live.Current().Pipeline(name) },
		DNS:        in.dns,
		Ready:      func() health.Report { return health.Run(in.readiness()) },
		RulesDir:   in.live.Dir,
		RulesError: in.live.LastError,
		RuleTests:  func(ctx context.Context) []rules.TestResult { return in.live.Current().RunTests(ctx) },
		Logger:     in.log,
	})
}
