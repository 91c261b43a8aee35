#!/usr/bin/env bash
# IMAP benchmark, sluice beside Dovecot, on one mailbox of 10,000 messages
# from the SpamAssassin public corpus (fetched once into a cache outside
# the repository by ../corpus.sh). It starts a throw-away Dovecot
# (Debian's dovecot-imapd; never the system service) on a loopback port,
# and prints one table: cold open, warm SELECT, FETCH 1:* envelopes,
# SEARCH, SORT, FETCH 100 bodies, STORE on all, 1,000 APPENDs over a
# socket with Nagle on, and imaptest's stress mode (imaptest as built by
# .ci/run). See README.md.
#
#   bench/imap/run.sh [-n 10000] [-rounds 3] [-appends 1000] [-stress 30] [-no-dovecot]
#   go run ./bench/imap -synthetic ...   # 5 KB synthetic messages, no corpus
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
corpus="$("$here/../corpus.sh")"
cd "$here/../.."
exec go run ./bench/imap -corpus "$corpus" "$@"
