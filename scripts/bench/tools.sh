#!/usr/bin/env bash
# Generator efficiency beside the tools people use: requests per generator
# CPU-second for loadgen, bare goose (same scenario, no loadgen layers), wrk, oha
# and Locust (FastHttpUser, scripts/bench/locustfile.py), one after another in one
# run, against the same bench-target. Requests are counted by the target; CPU is the
# generator's user+sys time, children included (scripts/bench/cputime.py).
# Usage: scripts/bench/tools.sh [USERS] [SECONDS]
# Installs what is missing: wrk (apt), oha (cargo install, skipped when SKIP_OHA=1),
# locust (pip). LOADGEN_BEFORE=path/to/loadgen adds a row for another build.
# loadgen runs with a connection per user (its default, like wrk -c, oha -c and
# Locust's users) and again with --connections shared (one pool) for reference.
set -euo pipefail
cd "$(dirname "$0")/../.."
USERS=${1:-50}
SECS=${2:-15}
PORT=${PORT:-18083}
BIN=target/release
cargo build --release -p scenarios --bins >&2
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; } >&2
if [ "${SKIP_OHA:-0}" != 1 ] && ! command -v oha >/dev/null; then cargo install oha >&2 || true; fi
command -v locust >/dev/null || pip install -q locust >&2
tmp=$(mktemp -d)
"$BIN/bench-target" 127.0.0.1:$PORT & target_pid=$!
trap 'kill $target_pid 2>/dev/null; rm -rf "$tmp"' EXIT
sleep 0.5
URL="http://127.0.0.1:$PORT"
count() { python3 -c "import urllib.request;print(urllib.request.urlopen('$URL/count').read().decode())"; }

declare -A RATE
measure() { # name, command...
  local name=$1; shift
  local before after cpu rss reqs
  before=$(count)
  python3 scripts/bench/cputime.py "$tmp/$name" -- "$@" || true
  after=$(count)
  read -r cpu rss < "$tmp/$name"
  reqs=$((after - before))
  RATE[$name]=$(echo "$reqs / $cpu" | bc -l)
  printf "| %-10s | %9d | %8.2f | %10.0f | %8.0f |\n" "$name" "$reqs" "$cpu" "${RATE[$name]}" "$(echo "$reqs / $SECS" | bc -l)"
}

echo "users=$USERS seconds=$SECS target=bench-target (1 thread) on $(nproc) cores, $(date -u +%F)"
echo "| generator  |  requests | CPU s    | req/CPU-s  | req/s    |"
echo "|------------|-----------|----------|------------|----------|"
measure loadgen "$BIN/loadgen" run "plan:$USERS,0s;$USERS,${SECS}s" --host "$URL" \
  --scenario http-get --path / --profile none --headless --out "$tmp/run"
measure shared "$BIN/loadgen" run "plan:$USERS,0s;$USERS,${SECS}s" --host "$URL" \
  --scenario http-get --path / --profile none --headless --connections shared --out "$tmp/run-shared"
if [ -n "${LOADGEN_BEFORE:-}" ]; then # another loadgen binary, for a before/after row
  measure before "$LOADGEN_BEFORE" run "plan:$USERS,0s;$USERS,${SECS}s" --host "$URL" \
    --scenario http-get --path / --profile none --headless --out "$tmp/run-before"
fi
measure goose "$BIN/bare-goose" --host "$URL" --users "$USERS" --increase-rate 1000 \
  --run-time "${SECS}s" --quiet --no-telnet
measure wrk wrk -t2 -c "$USERS" -d "${SECS}s" "$URL/"
if command -v oha >/dev/null; then
  measure oha oha -z "${SECS}s" -c "$USERS" --no-tui "$URL/"
fi
measure locust locust -f scripts/bench/locustfile.py --headless -u "$USERS" -r "$USERS" \
  -t "${SECS}s" -H "$URL" --only-summary --loglevel ERROR
echo
for other in shared before wrk goose oha locust; do
  if [ -n "${RATE[$other]:-}" ]; then
    printf "loadgen vs %-6s %.2fx\n" "$other" "$(echo "${RATE[loadgen]} / ${RATE[$other]}" | bc -l)"
  fi
done
