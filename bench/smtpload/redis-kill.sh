#!/bin/sh
# Redis killed under load: `sluice serve` with state.redis and rules that
# call rate_exceeded for every message (and greylist nothing), loadgen
# sending MESSAGES; after KILL_AFTER seconds redis-server is killed (-9),
# after DOWN seconds it is started again on the same port. Reports the
# load's result (accepted, failed, slowest transaction), whether every
# accepted message was delivered, and how long after Redis returned the
# counters were written again (a rate key appears in Redis).
#
# Knobs: SESSIONS (20), MESSAGES (12000: the load must outlast Redis's
# absence, or the recovery is not measured), KILL_AFTER (2), DOWN (3),
# PORT (12530), RPORT (12531). Needs redis-server and redis-cli.
set -eu
cd "$(dirname "$0")/../.."
SESSIONS=${SESSIONS:-20} MESSAGES=${MESSAGES:-12000} KILL_AFTER=${KILL_AFTER:-2} DOWN=${DOWN:-3}
PORT=${PORT:-12530} RPORT=${RPORT:-12531}
work=$(mktemp -d /tmp/sluice-rediskill.XXXXXX)
pid= rpid=
trap 'kill $pid $rpid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
go build -o "$work/loadgen" ./bench/smtpload/loadgen
go build -o "$work/sluice" ./cmd/sluice
conf=$(bench/smtpload/sluice-config.sh "$work" "$PORT" 20)
mkdir -p "$work/rules"
cat >"$work/rules/inbound.yaml" <<EOF
pipeline: inbound
rules:
  - name: per-sender
    when: rate_exceeded("per-sender", envelope.mail_from, "100000000/h")
    action: tempfail 450 4.7.1 "Too many"
  - name: state-down
    when: rate.result == "temperror"
    headers: {X-State: temperror}
EOF
cat >>"$conf" <<EOF
rules: $work/rules
state:
  redis: {addr: 127.0.0.1:$RPORT, timeout: 500ms}
EOF
redis() { redis-server --port "$RPORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" >"$work/redis.log" 2>&1 & rpid=$!; }
redis
for _ in $(seq 50); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
"$work/sluice" serve --config "$conf" >"$work/server.log" 2>&1 &
pid=$!
"$work/loadgen" -addr "127.0.0.1:$PORT" -wait
echo "$(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$work/loadgen" -addr "127.0.0.1:$PORT" -s 20 -m 20 -users 20 -maildir "$work/data/mail" >/dev/null
"$work/loadgen" -addr "127.0.0.1:$PORT" -s "$SESSIONS" -m "$MESSAGES" -users 20 -maildir "$work/data/mail" -pid "$pid" >"$work/load.out" 2>&1 &
lpid=$!
sleep "$KILL_AFTER"
kill -9 "$rpid"; wait "$rpid" 2>/dev/null || true
echo "redis-server killed at $(date +%T.%N | cut -c1-12)"
sleep "$DOWN"
redis
t0=$(date +%s.%N)
echo "redis-server started again at $(date +%T.%N | cut -c1-12)"
while [ -z "$(redis-cli -p "$RPORT" --scan --pattern 'sluice:rate:*' 2>/dev/null | head -1)" ]; do
	sleep 0.05
	kill -0 "$lpid" 2>/dev/null || { echo "load ended before Redis was written again: recovery not measured (raise MESSAGES)"; t0=; break; }
done
t1=$(date +%s.%N)
[ -z "$t0" ] || awk -v a="$t0" -v b="$t1" 'BEGIN { printf "counters written to Redis again %.2fs after it was back\n", b-a }'
wait "$lpid" || true
cat "$work/load.out"
# The rules mark a message whose rate check temperrored (X-State); the
# log has one WARN line per 10 s of failures at most.
marked=$(grep -rl '^X-State: temperror' "$work/data/mail" 2>/dev/null | wc -l)
echo "messages delivered with rate.result temperror: $marked; WARN lines in the server log: $(grep -c 'rate limit state failed' "$work/server.log" || true)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
