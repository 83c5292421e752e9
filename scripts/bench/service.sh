#!/usr/bin/env bash
# Service benchmark: one release target-service on the machine's PostgreSQL and
# Redis (rate limiter off), measured with
#   1. wrk (1 thread, so the service keeps the other core): cached GET /books/{id},
#      ids uniform in 1..10000 (scripts/bench/books.lua), after a warm-up pass that
#      fills the cache;
#   2. loadgen: the same cached reads (http-get /books/1), for comparison;
#   3. loadgen: the mixed workload (the bundled personas: reader, member,
#      librarian) at each user count given, held HOLD s after a 10 s ramp.
# Usage: scripts/bench/service.sh [MIXED_USERS...]   (default: 1000 2000 4000)
# Env: SECS (default 20), HOLD (default 40), CONNS (wrk connections, default 64),
#      PGURL (default postgres://postgres@127.0.0.1:5432), REDIS_URL
#      (default redis://127.0.0.1:6379), DB (default bench_library).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=target/release
PORT=${PORT:-18100}
SECS=${SECS:-20}
HOLD=${HOLD:-40}
CONNS=${CONNS:-64}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
DB=${DB:-bench_library}
REDIS=${REDIS_URL:-redis://127.0.0.1:6379}
MIXED=(1000 2000 4000)
[ $# -eq 0 ] || MIXED=("$@")
cargo build --release -p scenarios -p target-service >&2
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; } >&2
command -v psql >/dev/null || { apt-get update -qq && apt-get install -y -qq postgresql-client; } >&2
ulimit -n "$(ulimit -Hn)"
psql "$PGURL/postgres" -Atqc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 ||
  psql "$PGURL/postgres" -qc "CREATE DATABASE $DB"
tmp=$(mktemp -d)
PREFIX="bench-$$-$(date +%s):"
env BIND_ADDR=127.0.0.1:$PORT DATABASE_URL="$PGURL/$DB" REDIS_URL="$REDIS" CACHE_PREFIX="$PREFIX" \
  RATE_LIMIT_PER_SEC=0 RUST_LOG=warn "$BIN/target-service" >"$tmp/service.log" 2>&1 & svc=$!
cleanup() {
  kill "$svc" 2>/dev/null; wait "$svc" 2>/dev/null
  # Only this run's keys (unique prefix).
  redis-cli -u "$REDIS" --scan --pattern "${PREFIX}*" 2>/dev/null | xargs -r -n 500 redis-cli -u "$REDIS" del >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT
URL="http://127.0.0.1:$PORT"
for _ in $(seq 120); do curl -fs -o /dev/null "$URL/health/ready" && break; sleep 1; done
curl -fs -o /dev/null "$URL/health/ready" || { cat "$tmp/service.log" >&2; exit 1; }

echo "target-service (release, 1 instance, PostgreSQL $DB, Redis, RATE_LIMIT_PER_SEC=0) on $(nproc) cores, $(date -u +%F)"
wrk -t1 -c "$CONNS" -d 10s -s scripts/bench/books.lua "$URL" >/dev/null   # warm the cache
echo "## cached GET /books/{id}"
wrk -t1 -c "$CONNS" -d "${SECS}s" --latency -s scripts/bench/books.lua "$URL" | tee "$tmp/wrk.txt"
"$BIN/loadgen" run "plan:$CONNS,0s;$CONNS,${SECS}s" --host "$URL" --scenario http-get --path /books/1 \
  --profile none --headless --out "$tmp/get" >/dev/null 2>&1 || true

row() { python3 - "$1" "$2" <<'PY'
import json, sys
s = json.load(open(sys.argv[2] + "/summary.json")); t = s["total"]
hold = [p for p in s["series"] if p["users"] == max(q["users"] for q in s["series"])]
hold_rps = sum(p["requests"] for p in hold) / max(len(hold), 1)
ms = lambda us: f"{us / 1000:.1f}"
print(f"| {sys.argv[1]:<28} | {t['requests']:>9} | {t['failures']:>6} | {ms(t['p50_us']):>6} | {ms(t['p95_us']):>6} | {ms(t['p99_us']):>6} | {hold_rps:>9.0f} |")
PY
}
echo
echo "| run                          |  requests | errors | P50 ms | P95 ms | P99 ms | RPS (hold) |"
echo "|------------------------------|-----------|--------|--------|--------|--------|-----------|"
row "loadgen http-get /books/1 ($CONNS users)" "$tmp/get"
for users in "${MIXED[@]}"; do
  "$BIN/loadgen" run "plan:$users,10s;$users,${HOLD}s" --host "$URL" --profile none --headless \
    --out "$tmp/mixed-$users" >/dev/null 2>&1 || true
  row "mixed personas, $users users" "$tmp/mixed-$users"
done
