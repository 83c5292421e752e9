#!/usr/bin/env bash
# Runs every fault experiment in turn (about 5 minutes each, build first) and
# prints their rows for docs/RELIABILITY.md. Usage: scripts/chaos/run-all.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -p scenarios -p target-service >&2
stamp=$(date +%Y%m%d-%H%M%S)
rows=()
for experiment in redis-restart rabbitmq-outage api-kill pgbouncer-restart db-slow-storm; do
  out="reports/$stamp-chaos/$experiment"
  OUT="$out" SKIP_BUILD=1 bash "scripts/chaos/$experiment.sh" || echo "chaos: $experiment failed to run" >&2
  [ -f "$out/row.md" ] && rows+=("$(tail -1 "$out/row.md")")
done
echo "| experiment | date | fault | failed/requests during | recovery | requests lost | failures after recovery | loans acked/stored/lost | events written/delivered/unsent | result |"
echo "|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
