#!/usr/bin/env bash
# Memory per simulated user: peak RSS of loadgen holding N mostly idle users
# (one request every 10 s each) against a fast loopback target.
# Usage: scripts/bench/idle-users.sh [USERS...]   (default: 1000 10000)
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=target/release
PORT=18081
cargo build --release -p scenarios --bins >&2
ulimit -n 200000 2>/dev/null || ulimit -n 65536 || true
tmp=$(mktemp -d)
"$BIN/bench-target" 127.0.0.1:$PORT & target_pid=$!
trap 'kill $target_pid 2>/dev/null; rm -rf "$tmp"' EXIT
sleep 0.5
echo "| users  | peak RSS MB | KB per user | requests/s |"
echo "|--------|-------------|-------------|------------|"
base_rss=0
for users in "${@:-1000 10000}"; do
  ramp=$(( users / 500 + 1 ))
  python3 scripts/bench/cputime.py "$tmp/m" -- "$BIN/loadgen" run "plan:$users,${ramp}s;$users,30s" \
    --host "http://127.0.0.1:$PORT" --scenario http-get --path / --think 10s --profile none --out "$tmp/run-$users" || true
  read -r cpu rss < "$tmp/m"
  rps=$(python3 -c "import json;s=json.load(open('$tmp/run-$users/summary.json'));print(round(s['total']['rps']))")
  printf "| %6d | %11.1f | %11.1f | %10s |\n" "$users" "$(echo "$rss/1024" | bc -l)" "$(echo "$rss/$users" | bc -l)" "$rps"
done
