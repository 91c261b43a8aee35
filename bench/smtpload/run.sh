#!/bin/sh
# SMTP acceptance benchmark: N parallel sessions send 5 KB messages to
# local users; reports messages/s accepted (each 250 after an fsync of the
# spool), messages/s delivered end to end into the Maildir (files counted),
# and the server's CPU time per message (/proc/PID/stat).
#
#   bench/smtpload/run.sh                  # the harness: queue + go-smtp + Maildir store
#   SERVER=sluice bench/smtpload/run.sh    # sluice serve (rules and checks included)
#
# Knobs: SESSIONS (20), MESSAGES (5000), SIZE (5120), USERS (20), PORT (12525),
# SLUICE_BIN (a sluice binary to run instead of building the work tree's).
# With Postfix's smtp-source installed, SMTP_SOURCE=1 also drives the same
# server with it.
set -eu
cd "$(dirname "$0")/../.."
SESSIONS=${SESSIONS:-20} MESSAGES=${MESSAGES:-5000} SIZE=${SIZE:-5120} USERS=${USERS:-20} PORT=${PORT:-12525}
work=$(mktemp -d /tmp/sluice-load.XXXXXX)
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
go build -o "$work/loadgen" ./bench/smtpload/loadgen
data="$work/data"
addr=127.0.0.1:$PORT
if [ "${SERVER:-harness}" = sluice ]; then
	if [ -n "${SLUICE_BIN:-}" ]; then cp "$SLUICE_BIN" "$work/sluice"; else go build -o "$work/sluice" ./cmd/sluice; fi
	conf=$(bench/smtpload/sluice-config.sh "$work" "$PORT" "$USERS")
	"$work/sluice" serve --config "$conf" >"$work/server.log" 2>&1 &
else
	go build -o "$work/harness" ./bench/crash/harness
	"$work/harness" -data "$data" -listen "$addr" >"$work/server.log" 2>&1 &
fi
pid=$!
"$work/loadgen" -addr "$addr" -wait
echo "server: ${SERVER:-harness} (pid $pid); $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
# Warm-up: the first message to each user creates their Maildir folders.
"$work/loadgen" -addr "$addr" -s "$USERS" -m "$USERS" -users "$USERS" -maildir "$data/mail" >/dev/null
"$work/loadgen" -addr "$addr" -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" -users "$USERS" -maildir "$data/mail" -pid "$pid"
if [ "${SMTP_SOURCE:-}" ] && command -v smtp-source >/dev/null; then
	before=$(find "$data/mail" -path '*/new/*' -type f | wc -l)
	t0=$(date +%s.%N)
	smtp-source -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" -f load@sender.test -t u0@local.test "$addr"
	t1=$(date +%s.%N)
	while [ $(($(find "$data/mail" -path '*/new/*' -type f | wc -l) - before)) -lt "$MESSAGES" ]; do sleep 0.1; done
	t2=$(date +%s.%N)
	awk -v m="$MESSAGES" -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN {
		printf "smtp-source -s %d: %d accepted in %.2fs = %.0f msg/s accepted; delivered in %.2fs = %.0f msg/s end to end\n",
			'"$SESSIONS"', m, b-a, m/(b-a), c-a, m/(c-a) }'
fi
if [ -d "$data/journal" ]; then
	files=$(ls "$data"/journal/*.jsonl | wc -l)
	lines=$(cat "$data"/journal/*.jsonl | wc -l)
	bytes=$(cat "$data"/journal/*.jsonl | wc -c)
	bodies=$(cat "$data"/journal/*.body 2>/dev/null | wc -c)
	awk -v r=$((lines - files)) -v b="$bytes" -v c="$bodies" 'BEGIN { printf "journal: %d records, %.0f bytes per record, plus %.0f bytes per record of message copies\n", r, b/r, c/r }'
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
