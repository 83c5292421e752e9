#!/usr/bin/env bash
# The open model's arrival rate: asked against achieved, and the generator's
# start lag, at each RATE against bench-target on loopback (one connection per
# user, up to USERS users), SECS seconds each. Achieved = requests run / SECS;
# an arrival not run was dropped (no free user, queue full) and counted.
# Usage: scripts/bench/rates.sh [SECS] [RATE...]   (default: 20 10000 50000)
# Env: USERS (max users, default 200).
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-20}
[ $# -gt 0 ] && shift
if [ $# -gt 0 ]; then RATES=("$@"); else RATES=(10000 50000); fi
USERS=${USERS:-200}
BIN=target/release
PORT=${PORT:-18087}
cargo build --release -p scenarios --bins >&2
tmp=$(mktemp -d)
"$BIN/bench-target" 127.0.0.1:$PORT & target_pid=$!
trap 'kill $target_pid 2>/dev/null; rm -rf "$tmp"' EXIT
sleep 0.5
echo "max users $USERS, ${SECS}s per rate, bench-target (1 thread) on $(nproc) cores, $(date -u +%F)"
echo "| asked /s | achieved /s | achieved | dropped | lag P50 us | lag P99 us | CPU max | P99 ms | bound |"
echo "|----------|-------------|----------|---------|------------|------------|---------|--------|-------|"
for rate in "${RATES[@]}"; do
  "$BIN/loadgen" run "rate:$rate,0s;$rate,${SECS}s" --host "http://127.0.0.1:$PORT" --path / \
    --max-users "$USERS" --profile none --headless --out "$tmp/r$rate" >/dev/null 2>&1 || true
  python3 - "$rate" "$SECS" "$tmp/r$rate/summary.json" <<'PY'
import json, sys
rate, secs, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = json.load(open(path)); g = s["generator"]; t = s["total"]
achieved = t["requests"] / secs
print(f"| {rate:>8} | {achieved:>11.0f} | {100*achieved/rate:>7.2f}% | {g.get('dropped', 0):>7} | "
      f"{g['start_lag_p50_us']:>10} | {g['start_lag_p99_us']:>10} | {100*g['cpu_max']:>6.0f}% | "
      f"{t['p99_us']/1000:>6.2f} | {str(s['generator_bound']).lower():>5} |")
PY
done
