#!/usr/bin/env bash
# Experiment: PgBouncer stopped at once (SIGTERM: open transactions cut) under
# load at 75 s and started again 5 s later. Expect the database breaker and
# retries to carry the APIs through, recovery on its own, no loan lost.
# Usage: scripts/chaos/pgbouncer-restart.sh
source "$(dirname "$0")/lib.sh"
chaos_run pgbouncer-restart "PgBouncer killed at 75 s, back 5 s later" \
  --at 75s "kill -TERM \$(cat $STACK_RUN_DIR/pgbouncer/pgbouncer.pid); sleep 5; scripts/stack-up"
