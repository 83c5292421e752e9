#!/usr/bin/env bash
# Experiment: Redis (the private one, :6390) killed under load at 75 s, started
# again at 95 s. Expect reads to go on from PostgreSQL through the outage (the
# Redis breaker opens after 5 failures, REDIS_TIMEOUT_MS each), no 5xx beyond
# the breaker's window, nothing lost. Usage: scripts/chaos/redis-restart.sh
source "$(dirname "$0")/lib.sh"
chaos_run redis-restart "Redis killed at 75 s, restarted at 95 s" \
  --at 75s "redis-cli -p $REDIS_PORT shutdown nosave" \
  --at 95s "$(redis_start_cmd)"
