#!/usr/bin/env bash
# The 10,000-user headline: scripts/stack-up (nginx -> 2 API instances -> PgBouncer
# -> PostgreSQL; Redis; RabbitMQ), then the bundled personas on the `stages` shape
# (ramps in 20% steps to 10,000 users, holds 5 min; 14 min in all) judged by the
# reference-10k profile, generator on the same machine; scripts/stack-down always.
# Usage: scripts/bench/headline.sh [DURATION]   (default: the full 14m; e.g. 6m)
# Env: REDIS_URL (default redis://127.0.0.1:6379), RABBITMQ_URL (default
#      amqp://guest:guest@127.0.0.1:5672/%2f), OUT (default reports/<date>-headline),
#      SHAPE (default stages; e.g. stress), THINK (every user's pause between tasks,
#      default 3s..8s; THINK= keeps the personas' own 1-3 s), EXTRA (more arguments),
#      FRESH_DB (default 1: drop database `library` first, so the run starts from the seed),
#      RATE (the open model: run SHAPE as arrivals peaking at RATE iterations/s, no
#      think time; e.g. RATE=1800), CONNECTIONS (per-user, the default, or shared),
#      SKIP_BUILD=1 (use the release binaries as they are), GEN_NICE (loadgen's nice
#      value, default -10) and STACK_NICE (the stack's, default 0): see below;
#      STACK_TLS=1 (the same run over HTTPS: nginx terminates TLS on :8443 with the
#      stack's own CA, which loadgen is given with --ca; each user's connection does
#      its own handshake, HTTP/1.1 or HTTP/2 as ALPN settles, --http says which).
# On a shared machine (the stack, a compile, anything else on the same cores) the
# generator keeps its schedule only when it runs before the stack: loadgen starts at
# nice -10 (scripts/bench/priority.sh; needs root, else set STACK_NICE=10 to lower
# the stack's own processes instead). summary.json's `generator_bound` says whether
# that was enough; a run marked bound gives lower bounds, not results.
# Every user holds its own connection to nginx (per-user): the connections nginx
# holds are sampled every 10 s with `ss` into OUT/server-connections.txt, beside
# loadgen's own count per second in summary.json.
# Prints the summary's figures, the per-step table with loadgen's and nginx's connection
# counts (steps.py, also OUT/steps.md) and where the CPU went per component (cpu-split.py);
# for SHAPE=spike, how long the stack took to recover (recovery.py); the stack's
# memory every MEM_EVERY (30) s into OUT/memory.jsonl, and for SHAPE=soak the drift
# of P99 and memory over the hold (drift.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
export RABBITMQ_URL=${RABBITMQ_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}
# Per-request spans cost CPU the generator and the APIs share; warnings only.
export RUST_LOG=${RUST_LOG:-warn}
OUT=${OUT:-reports/$(date +%Y%m%d-%H%M%S)-headline}
# shellcheck source=scripts/bench/priority.sh
. scripts/bench/priority.sh
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release -p scenarios -p target-service >&2
ulimit -n "$(ulimit -Hn)"
trap 'scripts/stack-down' EXIT
# Every run starts from the seed: librarians add ~30 books a second, and searches
# scan the whole table, so a database grown by earlier runs would skew the figures.
if [ "${FRESH_DB:-1}" = 1 ]; then
  psql -h "${STACK_PGHOST:-127.0.0.1}" -p "${STACK_PGPORT:-5432}" -U "${STACK_PGUSER:-postgres}" -d postgres \
    -qc "DROP DATABASE IF EXISTS ${STACK_DB:-library} WITH (FORCE)" >&2
fi
scripts/stack-up
PORT=${STACK_LB_PORT:-8080}
LB="http://127.0.0.1:$PORT"
tls=()
if [ "${STACK_TLS:-0}" = 1 ]; then
  PORT=${STACK_TLS_PORT:-8443}
  LB="https://127.0.0.1:$PORT"
  tls=(--ca "${STACK_RUN_DIR:-target/stack}/tls/ca.pem")
fi
args=(run "${SHAPE:-stages}" --host "$LB" --headless --profile reference-10k --out "$OUT"
      --connections "${CONNECTIONS:-per-user}" "${tls[@]}")
if [ -n "${RATE:-}" ]; then
  args+=(--rate "$RATE")
else
  THINK=${THINK-3s..8s}
  [ -z "$THINK" ] || args+=(--think "$THINK")
fi
mkdir -p "$OUT"
( while sleep 10; do
    printf '%s %s\n' "$(date +%s)" "$(ss -Htn state established "( sport = :$PORT )" | wc -l)"
  done ) > "$OUT/server-connections.txt" & conn_pid=$!
[ -z "$DURATION" ] || args+=(--duration "$DURATION")
# PgBouncer's counters for the stack's database: transactions, queries (a round
# trip each: one per Sync or simple query), bytes in and out.
pool_stats() {
  psql -h 127.0.0.1 -p "${STACK_BOUNCER_PORT:-6432}" -U "${STACK_PGUSER:-postgres}" -d pgbouncer \
    -AtF' ' -c 'SHOW STATS' 2>/dev/null | awk -v db="${STACK_DB:-library}" '$1 == db {print $2, $3, $4, $5}'
}
pool_before=$(pool_stats)
cpu_mark=$(mktemp)
python3 scripts/bench/cpu-split.py start "$cpu_mark"
python3 scripts/bench/drift.py sample "$cpu_mark.mem" "${MEM_EVERY:-30}" & mem_pid=$!
# shellcheck disable=SC2086
python3 scripts/bench/cputime.py "$cpu_mark.gen" --show -- "${GEN_PRIO[@]}" target/release/loadgen "${args[@]}" ${EXTRA:-} || true
kill "$mem_pid" "$conn_pid"; wait "$mem_pid" "$conn_pid" 2>/dev/null || true
requests=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"]["requests"])' "$OUT/summary.json" 2>/dev/null || echo 0)
python3 scripts/bench/cpu-split.py end "$cpu_mark" "loadgen=$(cut -d' ' -f1 "$cpu_mark.gen")" --requests "$requests" | tee "$OUT/cpu-split.md"
# shellcheck disable=SC2086
set -- $pool_before $(pool_stats)
[ $# -ne 8 ] || [ "$requests" = 0 ] || awk -v r="$requests" -v x="$(($5 - $1))" -v q="$(($6 - $2))" -v i="$(($7 - $3))" -v o="$(($8 - $4))" \
  'BEGIN { printf "PgBouncer per request: %.3f transactions, %.3f round trips, %.0f bytes in, %.0f bytes out\n", x / r, q / r, i / r, o / r }' |
  tee -a "$OUT/cpu-split.md"
mv "$cpu_mark.mem" "$OUT/memory.jsonl"
rm -f "$cpu_mark" "$cpu_mark.gen"
python3 - "$OUT/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); t = s["total"]
ms = lambda us: f"{us / 1000:.1f} ms"
print(f"requests {t['requests']}, errors {t['failures']} ({100 * t['failures'] / max(t['requests'], 1):.3f}%), "
      f"P50 {ms(t['p50_us'])}, P95 {ms(t['p95_us'])}, P99 {ms(t['p99_us'])}, max {ms(t['max_us'])}, "
      f"RPS {t['rps']:.0f} over {s['duration_secs']:.0f} s; verdict {s['verdict']}")
if s["shape"].get("model") != "open":  # open runs: steps.py below shows each rate's hold
    peak = max(p["users"] for p in s["series"])
    hold = [p for p in s["series"] if p["users"] == peak]
    print(f"at {peak} users ({len(hold)} s): {sum(p['requests'] for p in hold) / max(len(hold), 1):.0f} RPS, "
          f"worst second P99 {max(p['p99_us'] for p in hold) / 1000:.1f} ms")
c, g = s.get("connections"), s.get("generator", {})
if c:
    print(f"connections (one per user): peak {c['peak_open']} open, {c['opened']} opened, {c['failed']} failed; "
          f"connect p99 {c['connect_p99_us'] / 1000:.1f} ms")
    tls, http = c.get("tls", {}), c.get("http", {})
    if tls.get("handshakes_full", 0) + tls.get("handshakes_resumed", 0) + tls.get("failed", 0):
        busiest = max(s["series"], key=lambda p: p.get("connects", 0))
        print(f"TLS: {tls['handshakes_full']} full and {tls['handshakes_resumed']} resumed handshakes, "
              f"{tls['failed']} failed; handshake P50 {tls['p50_us'] / 1000:.1f} ms, P99 {tls['p99_us'] / 1000:.1f} ms; "
              f"most in a second {busiest.get('connects', 0)} (second {busiest['second']})")
    print(f"HTTP: {http.get('http1_connections', 0)} HTTP/1.1 and {http.get('http2_connections', 0)} HTTP/2 "
          f"connections, {http.get('h2_streams', 0)} streams, {http.get('h2_goaways', 0)} GOAWAY, "
          f"{http.get('h2_resets', 0)} RST_STREAM")
print(f"load model {s['shape']['model']}, connections {s['config'].get('connections', 'shared')}, "
      f"generator bound: {s.get('generator_bound')} {g.get('bound_by', [])}; "
      f"service P99 (open model) {t.get('service_p99_us', 0) / 1000:.1f} ms")
PY
# Each API instance's breakers: how often each opened during the run (the Redis one
# used to open on a busy machine and send cached reads to PostgreSQL).
for port in 8081 8082; do
  python3 - "$port" "$(curl -fsS "http://127.0.0.1:$port/health/circuit-breakers" 2>/dev/null)" <<'PY' || true
import json, sys
rows = []
for b in json.loads(sys.argv[2])["breakers"]:
    late = b.get("late_excused", 0)
    rows.append(f"{b['name']} opened {b['times_opened']}x" + (f" ({late} late calls excused)" if late else ""))
print(f"api :{sys.argv[1]} breakers: " + ", ".join(rows))
PY
done
echo "nginx's established client connections (every 10 s, max): $(sort -k2 -n "$OUT/server-connections.txt" | tail -1 | cut -d' ' -f2)"
python3 scripts/bench/steps.py "$OUT/summary.json" "$OUT/server-connections.txt" | tee "$OUT/steps.md"
[ "${SHAPE:-stages}" != spike ] || python3 scripts/bench/recovery.py "$OUT/summary.json"
[ "${SHAPE:-stages}" != soak ] || python3 scripts/bench/drift.py report "$OUT/memory.jsonl" "$OUT/summary.json"
