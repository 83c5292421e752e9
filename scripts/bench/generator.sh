#!/usr/bin/env bash
# Generator efficiency: requests per generator CPU-second against the same fast
# loopback target, for loadgen, bare goose (same scenario, no loadgen layers)
# and wrk, one after another in one run. Requests are counted by the target.
# loadgen runs with a connection per user (its default) and with --connections
# shared; LOADGEN_BEFORE=path/to/loadgen adds a row for another build (before/after).
# Usage: scripts/bench/generator.sh [USERS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
USERS=${1:-50}
SECS=${2:-20}
PORT=18080
BIN=target/release
cargo build --release -p scenarios --bins >&2
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; } >&2
tmp=$(mktemp -d)
"$BIN/bench-target" 127.0.0.1:$PORT & target_pid=$!
trap 'kill $target_pid 2>/dev/null; rm -rf "$tmp"' EXIT
sleep 0.5
count() { curl -s "http://127.0.0.1:$PORT/count" 2>/dev/null || python3 -c "import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:$PORT/count').read().decode())"; }

measure() { # name, command...
  local name=$1; shift
  local before after cpu rss
  before=$(count)
  python3 scripts/bench/cputime.py "$tmp/$name" -- "$@" || true
  after=$(count)
  read -r cpu rss < "$tmp/$name"
  local reqs=$((after - before))
  printf "| %-10s | %9d | %8.2f | %10.0f | %8.0f |\n" "$name" "$reqs" "$cpu" "$(echo "$reqs / $cpu" | bc -l)" "$(echo "$reqs / $SECS" | bc -l)"
}

echo "users=$USERS seconds=$SECS target=bench-target (1 thread) on $(nproc) cores, $(date -u +%F)"
echo "| generator  |  requests | CPU s    | req/CPU-s  | req/s    |"
echo "|------------|-----------|----------|------------|----------|"
measure loadgen "$BIN/loadgen" run "plan:$USERS,0s;$USERS,${SECS}s" --host "http://127.0.0.1:$PORT" \
  --scenario http-get --path / --profile none --out "$tmp/run"
measure shared "$BIN/loadgen" run "plan:$USERS,0s;$USERS,${SECS}s" --host "http://127.0.0.1:$PORT" \
  --scenario http-get --path / --profile none --connections shared --out "$tmp/run-shared"
if [ -n "${LOADGEN_BEFORE:-}" ]; then
  measure before "$LOADGEN_BEFORE" run "plan:$USERS,0s;$USERS,${SECS}s" --host "http://127.0.0.1:$PORT" \
    --scenario http-get --path / --profile none --out "$tmp/run-before"
fi
measure goose "$BIN/bare-goose" --host "http://127.0.0.1:$PORT" --users "$USERS" --increase-rate 1000 \
  --run-time "${SECS}s" --quiet --no-telnet
measure wrk wrk -t2 -c "$USERS" -d "${SECS}s" "http://127.0.0.1:$PORT/"
