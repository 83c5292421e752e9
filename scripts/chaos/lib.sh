#!/usr/bin/env bash
# Shared by the fault experiments in scripts/chaos/ (sourced, not run). Each
# experiment is private: it starts its own Redis (:6390) and RabbitMQ node
# (:5673) and the local stack (scripts/stack-up, nginx :8080, APIs :8081/:8082,
# PgBouncer :6432) pointed at them on a fresh `library` database, puts its faults
# on loadgen's timeline (--at), and stops everything it started, by PID, at the
# end. The machine's shared Redis, RabbitMQ and PostgreSQL are never stopped.
#
# The load: the bundled personas (their own 1-3 s think), closed model, a
# connection per user, ramped to $USERS (default 1000) over 30 s and held for
# $HOLD (default 3m). The run is judged by 'recovery<30s' and aborted if over
# half the requests fail for 30 s in a row.
#
# After the run: the acknowledged loans (nginx's 201s to POST /loans) against
# the loans stored, and the events written to the outbox against those
# published and delivered (the notification consumer's log lines), once the
# outbox has drained, and the longest an event waited in the outbox. A row for
# docs/RELIABILITY.md goes to $OUT/row.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

CHAOS_RUN=${CHAOS_RUN:-$ROOT/target/chaos}
export STACK_RUN_DIR="$CHAOS_RUN/stack"
export STACK_ACCESS_LOG="$CHAOS_RUN/access.log"
REDIS_PORT=${CHAOS_REDIS_PORT:-6390}
RABBIT_PORT=${CHAOS_RABBIT_PORT:-5673}
RABBIT_NODE="chaos$RABBIT_PORT@localhost"
RABBIT_DIR="$CHAOS_RUN/rabbitmq"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
export RABBITMQ_URL="amqp://guest:guest@127.0.0.1:$RABBIT_PORT/%2f"
# The notification consumer's lines are the delivered-events count; requests stay quiet.
export RUST_LOG=${RUST_LOG:-warn,target_service::events=info}
USERS=${USERS:-1000}
HOLD=${HOLD:-3m}
PG=(psql -h "${STACK_PGHOST:-127.0.0.1}" -p "${STACK_PGPORT:-5432}" -U "${STACK_PGUSER:-postgres}")
LOADGEN="$ROOT/target/release/loadgen"

say() { printf 'chaos: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
  for _ in $(seq "${2:-60}"); do port_open "$1" && return 0; sleep 0.5; done
  return 1
}

# The command that starts the private Redis (also a fault's restart command).
redis_start_cmd() {
  echo "redis-server --port $REDIS_PORT --bind 127.0.0.1 --save '' --appendonly no \
--daemonize yes --pidfile $CHAOS_RUN/redis.pid --logfile $CHAOS_RUN/redis.log"
}

redis_start() {
  command -v redis-server >/dev/null || die "redis-server is missing: apt-get install redis-server"
  port_open "$REDIS_PORT" && die "port $REDIS_PORT is taken: set CHAOS_REDIS_PORT"
  eval "$(redis_start_cmd)"
  wait_port "$REDIS_PORT" || die "the private Redis did not start (see $CHAOS_RUN/redis.log)"
  say "redis on 127.0.0.1:$REDIS_PORT"
}

# RabbitMQ's environment for the private node: its own name, ports and files.
rabbit_env() {
  export RABBITMQ_NODENAME="$RABBIT_NODE" RABBITMQ_DIST_PORT=$((RABBIT_PORT + 20000)) \
    RABBITMQ_CONFIG_FILE="$RABBIT_DIR/rabbitmq.conf" RABBITMQ_MNESIA_BASE="$RABBIT_DIR/mnesia" \
    RABBITMQ_LOG_BASE="$RABBIT_DIR/log" RABBITMQ_ENABLED_PLUGINS_FILE="$RABBIT_DIR/enabled_plugins" \
    RABBITMQ_PID_FILE="$RABBIT_DIR/pid" RABBITMQ_FEATURE_FLAGS_FILE="$RABBIT_DIR/feature_flags" \
    RABBITMQ_PLUGINS_EXPAND_DIR="$RABBIT_DIR/plugins" RABBITMQ_GENERATED_CONFIG_DIR="$RABBIT_DIR/config" \
    RABBITMQ_QUORUM_DIR="$RABBIT_DIR/quorum" RABBITMQ_STREAM_DIR="$RABBIT_DIR/stream"
}

# rabbitmqctl against the private node (fault commands use it: stop_app, start_app).
rabbitctl_cmd() { echo "rabbitmqctl -q -n $RABBIT_NODE"; }

rabbit_start() {
  command -v rabbitmq-server >/dev/null || die "rabbitmq-server is missing: apt-get install rabbitmq-server"
  port_open "$RABBIT_PORT" && die "port $RABBIT_PORT is taken: set CHAOS_RABBIT_PORT"
  rm -rf "$RABBIT_DIR"; mkdir -p "$RABBIT_DIR"
  echo "[]." > "$RABBIT_DIR/enabled_plugins"
  printf 'listeners.tcp.1 = 127.0.0.1:%s\nloopback_users = none\n' "$RABBIT_PORT" > "$RABBIT_DIR/rabbitmq.conf"
  # Debian's rabbitmq-server runs the node as the rabbitmq user.
  id rabbitmq >/dev/null 2>&1 && chown -R rabbitmq "$RABBIT_DIR"
  (rabbit_env; nohup rabbitmq-server >> "$RABBIT_DIR/server.log" 2>&1 & echo $! > "$CHAOS_RUN/rabbitmq.pid")
  wait_port "$RABBIT_PORT" 120 || die "the private RabbitMQ did not start (see $RABBIT_DIR/server.log)"
  say "rabbitmq node $RABBIT_NODE on 127.0.0.1:$RABBIT_PORT"
}

cleanup() {
  set +e
  scripts/stack-down
  if [ -f "$CHAOS_RUN/redis.pid" ]; then kill "$(cat "$CHAOS_RUN/redis.pid")" 2>/dev/null; rm -f "$CHAOS_RUN/redis.pid"; fi
  if [ -f "$CHAOS_RUN/rabbitmq.pid" ]; then
    # The node's own pid (RABBITMQ_PID_FILE), else the launcher's.
    local beam
    beam=$(cat "$RABBIT_DIR/pid" 2>/dev/null || cat "$CHAOS_RUN/rabbitmq.pid")
    $(rabbitctl_cmd) stop >/dev/null 2>&1 || kill "$beam" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$beam" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$beam" 2>/dev/null
    rm -f "$CHAOS_RUN/rabbitmq.pid"
  fi
}

sql() { "${PG[@]}" -d library -Atqc "$1"; }

# chaos_run NAME DESCRIPTION [--at WHEN COMMAND]...: the whole experiment.
chaos_run() {
  local name="$1" what="$2"; shift 2
  OUT=${OUT:-$ROOT/reports/$(date +%Y%m%d-%H%M%S)-chaos-$name}
  [ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release -p scenarios -p target-service >&2
  ulimit -n "$(ulimit -Hn)"
  mkdir -p "$CHAOS_RUN" "$OUT"
  : > "$STACK_ACCESS_LOG"
  trap cleanup EXIT
  redis_start
  rabbit_start
  "${PG[@]}" -d postgres -qc "DROP DATABASE IF EXISTS library WITH (FORCE)" >&2
  rm -f "$STACK_RUN_DIR"/api-*.log
  scripts/stack-up
  local loans_before outbox_before code=0
  loans_before=$(sql "SELECT count(*) FROM loans")
  outbox_before=$(sql "SELECT count(*) FROM outbox")
  : > "$STACK_ACCESS_LOG"
  say "$name: $what"
  "$LOADGEN" run "plan:$USERS,30s;$USERS,$HOLD" --host "http://127.0.0.1:${STACK_LB_PORT:-8080}" \
    --headless --profile none --threshold 'recovery<30s' --abort-when 'error-rate>50% for 30s' \
    --out "$OUT" "$@" || code=$?
  say "$name: loadgen exited $code; waiting for the outbox to drain"
  local unsent
  for _ in $(seq 60); do
    unsent=$(sql "SELECT count(*) FROM outbox WHERE sent_at IS NULL")
    [ "$unsent" = 0 ] && break
    sleep 1
  done
  sleep 2 # the consumers' last deliveries
  cat "$STACK_RUN_DIR"/api-*.log > "$OUT/api.log"
  cp "$STACK_ACCESS_LOG" "$OUT/access.log"
  python3 scripts/chaos/account.py "$OUT" "$name" "$what" \
    --loans-before "$loans_before" --loans-after "$(sql "SELECT count(*) FROM loans")" \
    --outbox-before "$outbox_before" --outbox-after "$(sql "SELECT count(*) FROM outbox")" \
    --unsent "$unsent" --loadgen-exit "$code" \
    --event-delay "$(sql "SELECT coalesce(round(max(extract(epoch FROM sent_at::timestamptz - created_at::timestamptz))::numeric, 1), 0) FROM outbox WHERE sent_at IS NOT NULL")" \
    | tee "$OUT/row.md"
}
