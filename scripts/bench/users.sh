#!/usr/bin/env bash
# Users per machine: peak RSS of loadgen holding N mostly idle users (each GETs `/`
# every 10 s) against bench-target on loopback, ramped at RAMP users/s and held
# HOLD s; then Locust (FastHttpUser, scripts/bench/locustfile.py, same 10 s pause)
# asked for the largest N, stopped after 2 minutes whatever it reached.
# Usage: scripts/bench/users.sh [USERS...]   (default: 1000 10000 50000 100000)
# Env: RAMP (users/s, default 2000), HOLD (s, default 30), SKIP_LOCUST=1, SKIP_LOADGEN=1.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=target/release
PORT=${PORT:-18084}
RAMP=${RAMP:-2000}
HOLD=${HOLD:-30}
cargo build --release -p scenarios --bins >&2
command -v locust >/dev/null || pip install -q locust >&2
ulimit -n "$(ulimit -Hn)"
tmp=$(mktemp -d)
"$BIN/bench-target" 127.0.0.1:$PORT & target_pid=$!
trap 'kill $target_pid 2>/dev/null; rm -rf "$tmp"' EXIT
sleep 0.5
URL="http://127.0.0.1:$PORT"
COUNTS=(1000 10000 50000 100000)
[ $# -eq 0 ] || COUNTS=("$@")
echo "think=10s ramp=${RAMP}/s hold=${HOLD}s open-files=$(ulimit -n) on $(nproc) cores, $(date -u +%F)"
echo "| generator | users asked | users reached | peak RSS MB | KB per user | requests/s | errors |"
echo "|-----------|-------------|---------------|-------------|-------------|------------|--------|"
for users in "${COUNTS[@]}"; do
  [ "${SKIP_LOADGEN:-0}" = 1 ] && break
  ramp=$(( users / RAMP + 1 ))
  python3 scripts/bench/cputime.py "$tmp/m" -- "$BIN/loadgen" run "plan:$users,${ramp}s;$users,${HOLD}s" \
    --host "$URL" --scenario http-get --path / --think 10s --profile none --headless \
    --out "$tmp/run-$users" || true
  read -r _ rss < "$tmp/m"
  read -r reached rps errors < <(python3 -c "
import json; s = json.load(open('$tmp/run-$users/summary.json'))
print(max(p['users'] for p in s['series']), round(s['total']['rps']), s['total']['failures'])")
  printf "| loadgen   | %11d | %13d | %11.1f | %11.1f | %10s | %6s |\n" "$users" "$reached" \
    "$(echo "$rss/1024" | bc -l)" "$(echo "$rss/$reached" | bc -l)" "$rps" "$errors"
done
[ "${SKIP_LOCUST:-0}" = 1 ] && exit 0
users=${COUNTS[-1]}
LOCUST_THINK=10 python3 scripts/bench/cputime.py "$tmp/l" -- timeout -s INT -k 30 150 locust \
  -f scripts/bench/locustfile.py --headless -u "$users" -r 1000 -t 120s -H "$URL" \
  --csv "$tmp/locust" --loglevel ERROR || true
read -r _ rss < "$tmp/l" || rss=0
read -r reached rps errors < <(python3 -c "
import csv
rows = [r for r in csv.DictReader(open('$tmp/locust_stats_history.csv')) if r['Name'] == 'Aggregated']
agg = [r for r in csv.DictReader(open('$tmp/locust_stats.csv')) if r['Name'] == 'Aggregated'][0]
print(max(int(r['User Count']) for r in rows), round(float(agg['Requests/s'])), agg['Failure Count'])")
printf "| locust    | %11d | %13d | %11.1f | %11.1f | %10s | %6s |\n" "$users" "$reached" \
  "$(echo "$rss/1024" | bc -l)" "$(echo "$rss/$reached" | bc -l)" "$rps" "$errors"
