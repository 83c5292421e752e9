#!/usr/bin/env bash
# 100,000 users on this machine, each holding its own keep-alive connection,
# from one command: `loadgen run --processes P --local-ips ...` against nginx
# answering `200 ok` itself (W workers, each under this machine's 20,000
# open-file limit), users pausing THINK between requests (so a few thousand
# requests a second). Reports the connections held (loadgen's count each
# second and nginx's by `ss`), the generator's memory per connected user (RSS of
# the manager and its workers summed, at the hold), its CPU, its start lag and
# whether it was generator-bound, and P50/P99 and errors.
# Usage: scripts/bench/hundred-k.sh [USERS] [RAMP] [HOLD]   (defaults 100000 100s 120s)
# Env: PROCESSES (6), WORKERS (nginx's, 7), THINK (30s..60s), LOCAL_IPS (127.0.0.2-127.0.0.9),
#      PORT (18090), OUT (reports/<date>-100k).
# Sets net.core.somaxconn for the run and puts it back after.
set -euo pipefail
cd "$(dirname "$0")/../.."
USERS=${1:-100000}
RAMP=${2:-100s}
HOLD=${3:-120s}
PROCESSES=${PROCESSES:-6}
WORKERS=${WORKERS:-7}
THINK=${THINK:-30s..60s}
LOCAL_IPS=${LOCAL_IPS:-127.0.0.2-127.0.0.9}
PORT=${PORT:-18090}
OUT=${OUT:-reports/$(date +%Y%m%d-%H%M%S)-100k}
cargo build --release -p scenarios --bin loadgen >&2
command -v nginx >/dev/null || (apt-get update -qq && apt-get install -y -qq nginx) >/dev/null 2>&1
ulimit -n "$(ulimit -Hn)"
tmp=$(mktemp -d)
old_somaxconn=$(sysctl -n net.core.somaxconn)
sysctl -qw net.core.somaxconn=65535
cat > "$tmp/nginx.conf" <<EOF
worker_processes $WORKERS;
worker_rlimit_nofile 19500;
pid $tmp/nginx.pid;
error_log $tmp/error.log warn;
events { worker_connections 19000; }
http {
  access_log off;
  keepalive_timeout 600s;
  keepalive_requests 10000000;
  server {
    listen 127.0.0.1:$PORT backlog=65535 reuseport;
    location / { return 200 "ok"; }
  }
}
EOF
nginx -c "$tmp/nginx.conf" -p "$tmp"
cleanup() {
  kill "$(cat "$tmp/nginx.pid")" 2>/dev/null || true
  sysctl -qw net.core.somaxconn="$old_somaxconn"
  rm -rf "$tmp"
}
trap cleanup EXIT
sleep 0.5
mkdir -p "$OUT"
# nginx's established connections and the generator's memory, every 10 s.
( while sleep 10; do
    conns=$(ss -Htn state established "( sport = :$PORT )" | wc -l)
    rss=$(ps -C loadgen -o rss= | awk '{s += $1} END {print s + 0}')
    printf '%s %s %s\n' "$(date +%s)" "$conns" "$rss"
  done ) > "$OUT/samples.txt" & sampler=$!
python3 scripts/bench/cputime.py "$OUT/cpu.txt" --show -- target/release/loadgen run "plan:$USERS,$RAMP;$USERS,$HOLD" \
  --processes "$PROCESSES" --local-ips "$LOCAL_IPS" --host "http://127.0.0.1:$PORT" \
  --scenario http-get --path / --think "$THINK" --headless --threshold 'error-rate<1%' \
  --out "$OUT/run" || true
kill "$sampler"
python3 - "$OUT" "$USERS" <<'PY'
import json, sys
out, users = sys.argv[1], int(sys.argv[2])
s = json.load(open(f"{out}/run/summary.json"))
cpu = float(open(f"{out}/cpu.txt").read().split()[0])
samples = [tuple(map(int, l.split())) for l in open(f"{out}/samples.txt") if l.strip()]
peak_nginx = max((c for _, c, _ in samples), default=0)
held = [(c, rss) for _, c, rss in samples if c >= 0.99 * users]
rss_kb = max((rss for _, rss in held), default=0)
t, c, g = s["total"], s["connections"], s["generator"]
print(f"users {users}: loadgen held {c['peak_open']} connections at the peak (opened {c['opened']}, failed {c['failed']}); nginx counted {peak_nginx}")
print(f"generator memory at the hold: {rss_kb / 1024:.0f} MiB in all processes, {rss_kb * 1024 / users / 1000:.1f} KB per connected user")
print(f"generator CPU {cpu:.0f} s over the run; requests {t['requests']}, errors {t['failures']}, "
      f"P50 {t['p50_us'] / 1000:.1f} ms, P99 {t['p99_us'] / 1000:.1f} ms, {t['rps']:.0f} req/s")
print(f"start lag p99 {g.get('start_lag_p99_us', 0) / 1000:.1f} ms; generator_bound: {s['generator_bound']} {g.get('bound_by', [])}; "
      f"workers {len(s['workers'])}; verdict passed: {s['verdict']['passed']}")
PY
