#!/usr/bin/env bash
# Experiment: the private RabbitMQ node (:5673) stopped under load for 60 s
# (stop_app at 60 s, start_app at 120 s). Expect loans to go on (events wait in
# the outbox), the relay and consumers to reconnect, every event delivered.
# Usage: scripts/chaos/rabbitmq-outage.sh
source "$(dirname "$0")/lib.sh"
chaos_run rabbitmq-outage "RabbitMQ stopped at 60 s for 60 s" \
  --at 60s "$(rabbitctl_cmd) stop_app" \
  --at 120s "$(rabbitctl_cmd) start_app"
