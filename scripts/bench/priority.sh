# shellcheck shell=bash
# Sourced by the benchmark scripts that run loadgen beside the stack on one machine:
# sets GEN_PRIO, the prefix that starts loadgen at a scheduling priority above the
# stack's. Without it, on a busy machine the generator waits for a core behind
# nginx, the APIs and PostgreSQL, starts its users' work late, and its self-check
# rightly marks the run generator-bound (its latencies then only lower bounds).
# GEN_NICE (default -10) is loadgen's nice value; below 0 needs root (or
# CAP_SYS_NICE). Without that right loadgen runs at 0, and the way left is to
# lower the stack instead: STACK_NICE=10 makes scripts/stack-up start nginx, the
# APIs and PgBouncer at nice 10 (services it did not start, PostgreSQL, Redis,
# RabbitMQ, are not its to change). Either way the run's summary.json says
# whether it was enough: `generator_bound` and `generator.bound_by`.
GEN_NICE=${GEN_NICE:--10}
GEN_PRIO=()
if [ "$GEN_NICE" != 0 ]; then
  if [ "$(nice -n "$GEN_NICE" nice 2>/dev/null)" = "$(($(nice) + GEN_NICE))" ]; then
    GEN_PRIO=(nice -n "$GEN_NICE")
    printf 'loadgen runs at nice %s (GEN_NICE), above the stack\n' "$GEN_NICE" >&2
  else
    printf 'cannot start loadgen at nice %s (needs root or CAP_SYS_NICE): it runs at the stack'"'"'s priority; STACK_NICE=10 lowers the stack instead\n' "$GEN_NICE" >&2
  fi
fi
