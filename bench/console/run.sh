#!/usr/bin/env bash
# Web console figures, measured by the browser test against a real server
# with Debian's chromium (headless): the SSE latency from the SMTP 250 to
# the row on the live verdicts page, the first contentful paint of
# /verdicts and the page weight (HTML, CSS and JS, uncompressed), over
# loopback. Runs the test N times (default 5) and prints the figures.
#
#   bench/console/run.sh [N]
set -euo pipefail
cd "$(dirname "$0")/../.."
n="${1:-5}"
go test -run 'TestConsoleInBrowser$' -count "$n" -v ./cmd/sluice | grep -o 'figure: .*'
