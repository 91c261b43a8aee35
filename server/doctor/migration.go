package doctor

import "context"

func init() { Checks = append(Checks, Check{"soft-bounce", checkSoftBounce}) }

// checkSoftBounce reminds the operator that soft_bounce is on: right for
// the first days of a migration, wrong to forget, since senders of mail
// to a mistyped address then never learn of it.
func checkSoftBounce(_ context.Context, env *Env) []Result {
	if !env.SoftBounce {
		return []Result{ok("migration.soft_bounce", "soft_bounce is off: permanent refusals and bounces are sent as they are")}
	}
	return []Result{warn("migration.soft_bounce",
		"once the migration is checked, set migration: {soft_bounce: false} and restart sluice",
		"soft_bounce is on: every permanent refusal is sent as 4xx and mail that would bounce stays queued")}
}
