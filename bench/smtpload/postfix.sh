#!/bin/sh
# Measure Postfix on the same machine with the same load, for comparison:
# configures the system's Postfix instance (Debian package postfix; this
# REWRITES /etc/postfix/main.cf and master.cf, so run it only on a
# throwaway machine) to accept mail for local.test on 127.0.0.1:$PORT and
# deliver it to Maildirs under $MAIL (virtual(8)), then drives it with
# smtp-source and counts the delivered files.
#
# Knobs: SESSIONS (20), MESSAGES (5000), SIZE (5120), PORT (12600).
set -eu
SESSIONS=${SESSIONS:-20} MESSAGES=${MESSAGES:-5000} SIZE=${SIZE:-5120} PORT=${PORT:-12600}
MAIL=${MAIL:-/tmp/postfix-bench-mail}
postfix stop >/dev/null 2>&1 || true
rm -rf "$MAIL" && mkdir -p "$MAIL" && chown 5000:5000 "$MAIL"
for i in $(seq 0 19); do echo "u$i@local.test local.test/u$i/"; done >/etc/postfix/bench-vmailbox
postconf -e "inet_interfaces = loopback-only" "inet_protocols = ipv4" "mydestination = localhost" \
	"myhostname = mx.local.test" "mynetworks = 127.0.0.0/8" "virtual_mailbox_domains = local.test" \
	"virtual_mailbox_base = $MAIL" "virtual_mailbox_maps = texthash:/etc/postfix/bench-vmailbox" \
	"virtual_uid_maps = static:5000" "virtual_gid_maps = static:5000" "virtual_minimum_uid = 100" \
	"smtpd_client_connection_count_limit = 0" "default_process_limit = 100" "maillog_file = /var/log/postfix-bench.log"
postconf -M# "$PORT/inet" >/dev/null 2>&1 || true
postconf -Me "127.0.0.1:$PORT/inet = 127.0.0.1:$PORT inet n - n - - smtpd"
newaliases
postfix start >/dev/null 2>&1
trap 'postfix stop >/dev/null 2>&1' EXIT
for _ in $(seq 50); do smtp-source -m 1 -t u0@local.test "127.0.0.1:$PORT" 2>/dev/null && break; sleep 0.2; done
count() { find "$MAIL" -path '*/new/*' -type f | wc -l; }
for _ in $(seq 100); do [ "$(count)" -ge 1 ] && break; sleep 0.1; done
[ "$(count)" -ge 1 ] || { echo "postfix delivers nothing: see /var/log/postfix-bench.log" >&2; exit 1; }
before=$(count)
echo "postfix $(postconf -h mail_version); load average $(cut -d' ' -f1-3 /proc/loadavg)"
t0=$(date +%s.%N)
smtp-source -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" -f load@sender.test -t u0@local.test "127.0.0.1:$PORT"
t1=$(date +%s.%N)
while [ $(($(count) - before)) -lt "$MESSAGES" ]; do sleep 0.1; done
t2=$(date +%s.%N)
awk -v m="$MESSAGES" -v a="$t0" -v b="$t1" -v c="$t2" -v s="$SESSIONS" 'BEGIN {
	printf "postfix, smtp-source -s %d: %d accepted in %.2fs = %.0f msg/s accepted; delivered in %.2fs = %.0f msg/s end to end\n",
		s, m, b-a, m/(b-a), c-a, m/(c-a) }'
