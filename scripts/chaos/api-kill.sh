#!/usr/bin/env bash
# Experiment: one of the two API instances (:8082) killed (SIGKILL) under load at
# 75 s, started again at 95 s (scripts/stack-up starts what is not running).
# Expect nginx to route around it (proxy_next_upstream), no loan lost.
# Usage: scripts/chaos/api-kill.sh
source "$(dirname "$0")/lib.sh"
chaos_run api-kill "API :8082 killed at 75 s, restarted at 95 s" \
  --at 75s "kill -KILL \$(cat $STACK_RUN_DIR/api-8082.pid)" \
  --at 95s "scripts/stack-up"
