#!/usr/bin/env bash
# The 10,000-user headline: scripts/stack-up (nginx -> 2 API instances -> PgBouncer
# -> PostgreSQL; Redis; RabbitMQ), then the bundled personas on the `stages` shape
# (ramps in 20% steps to 10,000 users, holds 5 min; 14 min in all) judged by the
# reference-10k profile, generator on the same machine; scripts/stack-down always.
# Usage: scripts/bench/headline.sh [DURATION]   (default: the full 14m; e.g. 6m)
# Env: REDIS_URL (default redis://127.0.0.1:6379), RABBITMQ_URL (default
#      amqp://guest:guest@127.0.0.1:5672/%2f), OUT (default reports/<date>-headline),
#      SHAPE (default stages; e.g. stress), EXTRA (more `loadgen run` arguments).
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
export RABBITMQ_URL=${RABBITMQ_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}
# Per-request spans cost CPU the generator and the APIs share; warnings only.
export RUST_LOG=${RUST_LOG:-warn}
OUT=${OUT:-reports/$(date +%Y%m%d-%H%M%S)-headline}
cargo build --release -p scenarios -p target-service >&2
ulimit -n "$(ulimit -Hn)"
trap 'scripts/stack-down' EXIT
scripts/stack-up
LB="http://127.0.0.1:${STACK_LB_PORT:-8080}"
args=(run "${SHAPE:-stages}" --host "$LB" --headless --profile reference-10k --out "$OUT")
[ -z "$DURATION" ] || args+=(--duration "$DURATION")
# shellcheck disable=SC2086
target/release/loadgen "${args[@]}" ${EXTRA:-} || true
python3 - "$OUT/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); t = s["total"]
ms = lambda us: f"{us / 1000:.1f} ms"
print(f"requests {t['requests']}, errors {t['failures']} ({100 * t['failures'] / max(t['requests'], 1):.3f}%), "
      f"P50 {ms(t['p50_us'])}, P95 {ms(t['p95_us'])}, P99 {ms(t['p99_us'])}, max {ms(t['max_us'])}, "
      f"RPS {t['rps']:.0f} over {s['duration_secs']:.0f} s; verdict {s['verdict']}")
peak = max(p["users"] for p in s["series"])
hold = [p for p in s["series"] if p["users"] == peak]
print(f"at {peak} users ({len(hold)} s): {sum(p['requests'] for p in hold) / max(len(hold), 1):.0f} RPS, "
      f"worst second P99 {max(p['p99_us'] for p in hold) / 1000:.1f} ms")
PY
