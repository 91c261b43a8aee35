#!/usr/bin/env bash
# IMAP benchmark on a mailbox of 10,000 messages from the SpamAssassin
# public corpus (fetched once into a cache outside the repository by
# ../corpus.sh): time to SELECT, to FETCH 1:* (FLAGS ENVELOPE RFC822.SIZE),
# to SEARCH a header text, and to FETCH one message BODY[], over TLS on
# loopback with go-imap's client. Target: SELECT plus the full-envelope
# FETCH under 1 second.
#
#   bench/imap/run.sh [-n 10000] [-rounds 5]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
corpus="$("$here/../corpus.sh")"
cd "$here/../.."
exec go run ./bench/imap -corpus "$corpus" "$@"
