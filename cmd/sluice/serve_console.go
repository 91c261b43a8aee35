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
