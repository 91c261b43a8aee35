#!/bin/sh
# sluice-config.sh WORKDIR PORT [USERS]: writes a config for `sluice serve`
# used by the benchmarks (MX listener only on 127.0.0.1:PORT, local domain
# local.test, users u0..u(USERS-1), DNS from an empty zone file so no
# check goes to the network, the example rules), creates the users, and
# prints the config file's path.
set -eu
work=$1 port=$2 users=${3:-20}
sluice=${SLUICE:-$work/sluice}
cat >"$work/bench.zone" <<ZONE
local.test. 300 IN SOA ns.local.test. hostmaster.local.test. 1 3600 600 86400 300
ZONE
cat >"$work/sluice.yaml" <<CONF
hostname: mx.local.test
domains: [local.test]
data: $work/data
listen:
  smtp: 127.0.0.1:$port
dns:
  zonefile: $work/bench.zone
limits:
  connections_per_ip: 1000
  greet_delay: 0s
log:
  level: warn
CONF
i=0
while [ "$i" -lt "$users" ]; do
	echo "bench-password-$i" | "$sluice" user add "u$i@local.test" --password-stdin --config "$work/sluice.yaml" >/dev/null
	i=$((i + 1))
done
echo "$work/sluice.yaml"
