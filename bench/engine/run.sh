#!/usr/bin/env bash
# Dry-run engine throughput over the SpamAssassin corpus (issue 2).
set -euo pipefail
cd "$(dirname "$0")/../.."
corpus="$(bench/corpus.sh)"
go run ./bench/engine -corpus "$corpus" "$@"
