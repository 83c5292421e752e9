#!/usr/bin/env bash
# Experiment: a slow-query storm at 75 s: 60 sessions through PgBouncer each
# hold a server connection for 20 s (SELECT pg_sleep(20)), exhausting its pool
# of 40 (+10 reserve). Expect the database bulkhead to shed (503) rather than
# queue without end, recovery on its own once the storm ends, no loan lost.
# Usage: scripts/chaos/db-slow-storm.sh
source "$(dirname "$0")/lib.sh"
chaos_run db-slow-storm "60 x pg_sleep(20) through PgBouncer at 75 s" \
  --at 75s "for i in \$(seq 60); do psql -h 127.0.0.1 -p ${STACK_BOUNCER_PORT:-6432} -U postgres -d library -qAtc 'SELECT pg_sleep(20)' >/dev/null & done; wait"
