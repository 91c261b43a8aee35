#!/bin/sh
# Milter overhead through a real Postfix: Postfix's smtp-source pushes
# MESSAGES through a throw-away Postfix (loopback, mail discarded after the
# queue) twice in one run, without and with `sluice milter` running the
# example rules (zone-file DNS, the trusted-network rule made not to match
# so that every rule is reached), and prints both rates and the cost per
# message. Needs root and the postfix package (Debian); it touches
# nothing under /etc/postfix.
#
# Knobs: SESSIONS (10), MESSAGES (2000), SIZE (5120), PORT (12700),
# MPORT (12701).
set -eu
cd "$(dirname "$0")/../.."
SESSIONS=${SESSIONS:-10} MESSAGES=${MESSAGES:-2000} SIZE=${SIZE:-5120} PORT=${PORT:-12700} MPORT=${MPORT:-12701}
work=$(mktemp -d /tmp/sluice-milter.XXXXXX)
chmod 755 "$work"
pf=$work/pf
cleanup() {
	postfix -c "$pf/etc" stop >/dev/null 2>&1 || true
	kill "$mpid" 2>/dev/null || true
	rm -rf "$work"
}
mpid=
trap cleanup EXIT
go build -o "$work/sluice" ./cmd/sluice
conf=$(SLUICE=$work/sluice bench/smtpload/sluice-config.sh "$work" 12799 1)
cp -r examples/rules "$work/rules"
rm "$work/rules/"*_test.yaml # their fixtures expect the trusted network changed below
sed -i 's#trusted_networks: .*#trusted_networks: [192.0.2.0/24]#' "$work/rules/inbound.yaml"
sed -i 's#"300/h"#"10000000/h"#' "$work/rules/inbound.yaml" # the client-rate limit is not what is measured
echo "rules: $work/rules" >>"$conf"
"$work/sluice" milter --config "$conf" --listen "127.0.0.1:$MPORT" >"$work/milter.log" 2>&1 &
mpid=$!
mkdir -p "$pf/etc" "$pf/queue" "$pf/data"
chown postfix "$pf/data"
cat >"$pf/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $pf/queue
data_directory = $pf/data
maillog_file = $work/maillog
maillog_file_prefixes = /tmp
mail_owner = postfix
myhostname = mx.local.test
mydestination = local.test
local_recipient_maps =
local_transport = discard
default_transport = discard
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
smtpd_client_connection_count_limit = 0
default_process_limit = 100
milter_default_action = tempfail
milter_protocol = 6
smtputf8_enable = no
EOF
cat >"$pf/etc/master.cf" <<EOF
127.0.0.1:$PORT inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
proxymap  unix  - - n -  - proxymap
smtp      unix  - - n -  - smtp
showq     unix  n - n -  - showq
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
postfix -c "$pf/etc" start >/dev/null
for _ in $(seq 100); do smtp-source -m 1 -t u0@local.test "127.0.0.1:$PORT" 2>/dev/null && break; sleep 0.1; done
echo "postfix $(postconf -c "$pf/etc" -h mail_version); $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
run() { # label
	t0=$(date +%s.%N)
	smtp-source -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" -f load@sender.test -t u0@local.test "127.0.0.1:$PORT"  || return 1
	t1=$(date +%s.%N)
	awk -v l="$1" -v m="$MESSAGES" -v a="$t0" -v b="$t1" 'BEGIN { printf "%-22s %d messages in %.2fs = %.0f msg/s, %.2f ms/msg\n", l, m, b-a, m/(b-a), (b-a)*1000/m }'
	echo "$t0 $t1" >"$work/$2"
}
postconf -c "$pf/etc" -e "smtpd_milters =" && postfix -c "$pf/etc" reload >/dev/null && sleep 1
run "postfix alone:" alone
postconf -c "$pf/etc" -e "smtpd_milters = inet:127.0.0.1:$MPORT" && postfix -c "$pf/etc" reload >/dev/null && sleep 1
run "postfix + sluice milter:" milter || { cat "$work/milter.log"; tail -20 "$work/maillog"; exit 1; }
rejects=$(grep -c 'milter-reject' "$work/maillog" || true)
awk -v s="$SESSIONS" -v m="$MESSAGES" -v r="$rejects" '
	FNR == 1 && NR == 1 { a = $2 - $1 } FNR == 1 && NR == 2 { b = $2 - $1 }
	END { printf "milter overhead: %.2f ms per message of wall time at %d sessions (%.0f%% of the rate); milter rejects: %d\n", (b-a)*1000/m, s, (1 - a/b)*100, r }' "$work/alone" "$work/milter"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
