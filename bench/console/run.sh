#!/usr/bin/env bash
# Web console and health figures, measured by the tests against a real
# server with Debian's chromium (headless): the SSE latency from the SMTP
# 250 to the row on the live verdicts page, the first contentful paint of
# /verdicts and the page weight (HTML, CSS and JS, uncompressed), over
# loopback; then how long /readyz takes to degrade after the in-process
# DNS server stops and to recover after it returns (the issue wants both
# within 60 s). Runs each test N times (default 5) and prints the figures.
#
#   bench/console/run.sh [N]
set -euo pipefail
cd "$(dirname "$0")/../.."
n="${1:-5}"
go test -run 'TestConsoleInBrowser$' -count "$n" -v ./cmd/sluice | grep -o 'figure: .*'
go test -run 'TestServeReadyzFollowsDNS$' -count "$n" -v ./cmd/sluice | grep -o 'readyz \(degraded\|healthy\) .* after .*' | sed 's/^/figure: /'
