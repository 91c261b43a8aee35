#!/bin/sh
# What the verdict journal costs SMTP throughput (issue 12: at most 10 %):
# bench/smtpload with SERVER=sluice, alternating a sluice built from BASE
# (the commit before the journal) and one built from the work tree,
# ROUNDS times each, so that both see the same machine load. Compare the
# server CPU per message first: on a shared machine it is steadier than
# messages per second.
#
#   bench/journal/smtpload.sh            # BASE=e463ad2 ROUNDS=3 MESSAGES=3000
set -eu
cd "$(dirname "$0")/../.."
BASE=${BASE:-e463ad2} ROUNDS=${ROUNDS:-3}
export MESSAGES=${MESSAGES:-3000}
work=$(mktemp -d /tmp/sluice-jload.XXXXXX)
trap 'git worktree remove --force "$work/base" 2>/dev/null; rm -rf "$work"' EXIT
git worktree add -q --detach "$work/base" "$BASE"
(cd "$work/base" && go build -o "$work/sluice-base" ./cmd/sluice)
go build -o "$work/sluice-journal" ./cmd/sluice
i=0
while [ "$i" -lt "$ROUNDS" ]; do
	for v in base journal; do
		echo "== $v (round $((i + 1)))"
		SERVER=sluice SLUICE_BIN="$work/sluice-$v" bench/smtpload/run.sh | grep -E 'accepted|server CPU|journal:'
	done
	i=$((i + 1))
done
