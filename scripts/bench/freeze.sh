#!/usr/bin/env bash
# Coordinated omission, measured: bench-target answers in 10 ms but holds every
# answer during the last 1 s of each 5 s. A client arriving at a random moment
# waits out a freeze 20% of the time: the truth is P90 = 510 ms, P99 = 960 ms.
# The open model (200 arrivals/s) against the closed model (20 users, no pause)
# on the same target, for SECS seconds each (a multiple of 5).
# Usage: scripts/bench/freeze.sh [SECS]
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-30}
BIN=target/release
PORT=${PORT:-18086}
cargo build --release -p scenarios --bins >&2
tmp=$(mktemp -d)
"$BIN/bench-target" 127.0.0.1:$PORT 10ms,1s/5s & target_pid=$!
trap 'kill $target_pid 2>/dev/null; rm -rf "$tmp"' EXIT
sleep 0.5
URL="http://127.0.0.1:$PORT"
row() { # label, run folder
  python3 - "$1" "$2/summary.json" <<'PY'
import json, sys
label, path = sys.argv[1], sys.argv[2]
s = json.load(open(path)); t = s["total"]; g = s["generator"]
svc = t.get("service_p99_us")
print(f"| {label:<28} | {t['requests']:>8} | {t['p50_us']/1000:>8.1f} | {t['p90_us']/1000:>8.1f} | {t['p99_us']/1000:>8.1f} | "
      f"{(svc/1000 if svc is not None else float('nan')):>13.1f} | {g['start_lag_p99_us']/1000:>9.2f} | {str(s['generator_bound']).lower():>5} |")
PY
}
echo "freeze: 10 ms service, 1 s freeze every 5 s; truth P90 510 ms, P99 960 ms; ${SECS}s per run; $(nproc) cores, $(date -u +%F)"
echo "| run                          | requests | P50 ms   | P90 ms   | P99 ms   | P99 send ms   | lag P99ms | bound |"
echo "|------------------------------|----------|----------|----------|----------|---------------|-----------|-------|"
"$BIN/loadgen" run "rate:200,0s;200,${SECS}s" --host "$URL" --path / --max-users 400 \
  --profile none --headless --out "$tmp/open" >/dev/null 2>&1 || true
row "open, 200/s, 400 users" "$tmp/open"
"$BIN/loadgen" run "rate:200,0s;200,${SECS}s" --host "$URL" --path / --max-users 6 \
  --profile none --headless --out "$tmp/open-few" >/dev/null 2>&1 || true
row "open, 200/s, 6 users" "$tmp/open-few"
"$BIN/loadgen" run "plan:20,0s;20,${SECS}s" --host "$URL" --path / \
  --profile none --headless --out "$tmp/closed" >/dev/null 2>&1 || true
row "closed, 20 users, no pause" "$tmp/closed"
