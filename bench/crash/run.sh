#!/bin/sh
# Crash test: send mail without pause over parallel SMTP sessions while
# killing the server with SIGKILL at random moments and restarting it;
# then check that every message that got a 250 is in a Maildir.
#
#   bench/crash/run.sh                 # the harness (queue + go-smtp + Maildir store)
#   SERVER=sluice bench/crash/run.sh   # sluice serve (needs cmd/sluice/cmd_serve.go)
#
# Knobs (environment): KILLS (20), SESSIONS (10), MIN (300ms), MAX (2s), PORT (12526),
# SEGMENT (harness only: spool segment size in bytes; e.g. 65536 makes the
# spool rotate and delete segments every few messages).
# Prints "RESULT kills=.. acked=.. found=.. missing=.. duplicates=.." and
# exits 1 if an acknowledged message is missing.
set -eu
cd "$(dirname "$0")/../.."
KILLS=${KILLS:-20} SESSIONS=${SESSIONS:-10} MIN=${MIN:-300ms} MAX=${MAX:-2s} PORT=${PORT:-12526}
work=$(mktemp -d /tmp/sluice-crash.XXXXXX)
go build -o "$work/driver" ./bench/crash/driver
data="$work/data"
if [ "${SERVER:-harness}" = sluice ]; then
	go build -o "$work/sluice" ./cmd/sluice
	server="$work/sluice serve --config $(bench/smtpload/sluice-config.sh "$work" "$PORT" 10)"
	journal="-journal $data/journal"
else
	go build -o "$work/harness" ./bench/crash/harness
	server="$work/harness -data $data -listen 127.0.0.1:$PORT -segment ${SEGMENT:-0}"
fi
status=0
# shellcheck disable=SC2086 # $journal is empty or two words
"$work/driver" ${journal:-} -server "$server" -addr "127.0.0.1:$PORT" -maildir "$data/mail" \
	-kills "$KILLS" -s "$SESSIONS" -min "$MIN" -max "$MAX" || status=$?
rm -rf "$work"
exit $status
