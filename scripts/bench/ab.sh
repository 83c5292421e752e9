#!/usr/bin/env bash
# Before and after, in one sitting: two loadgen binaries (or two sets of flags)
# run in turn, A B A B ..., against the same bench-target, each with a
# connection per user (closed model, no think time); the target counts the
# requests, scripts/bench/cputime.py the generator's CPU (user+sys). Prints each
# run's requests per generator CPU-second, the medians, and B/A pair by pair.
# Usage: scripts/bench/ab.sh A_BINARY B_BINARY [ROUNDS] [USERS] [SECONDS]
# Env: A_ARGS / B_ARGS (more flags for each side, e.g. B_ARGS='--connections shared'),
#      URL (a target of your own instead of bench-target; its requests are then
#      counted from loadgen's summary), SCHEME (http; https needs URL).
set -euo pipefail
cd "$(dirname "$0")/../.."
A=${1:?first binary}
B=${2:?second binary}
ROUNDS=${3:-3}
USERS=${4:-50}
SECS=${5:-10}
PORT=${PORT:-18084}
tmp=$(mktemp -d)
if [ -z "${URL:-}" ]; then
  cargo build --release -p scenarios --bin bench-target >&2
  target/release/bench-target 127.0.0.1:$PORT & target_pid=$!
  trap 'kill $target_pid 2>/dev/null; rm -rf "$tmp"' EXIT
  sleep 0.5
  URL="http://127.0.0.1:$PORT"
else
  trap 'rm -rf "$tmp"' EXIT
fi
requests() { # the run's requests, from its summary
  python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['total']['requests'])" "$1/summary.json"
}
one() { # side, binary, args...
  local side=$1 bin=$2; shift 2
  local out="$tmp/$side-$RANDOM"
  # shellcheck disable=SC2086
  python3 scripts/bench/cputime.py "$tmp/cpu" -- "$bin" run "plan:$USERS,0s;$USERS,${SECS}s" \
    --host "$URL" --scenario http-get --path / --profile none --allow-failures --headless \
    --out "$out" "$@" || true
  local cpu reqs
  read -r cpu _ < "$tmp/cpu"
  reqs=$(requests "$out")
  python3 -c "print(round($reqs / $cpu))"
}
echo "users=$USERS seconds=$SECS rounds=$ROUNDS target=$URL on $(nproc) cores, $(date -u +%F)" >&2
a_all=(); b_all=()
for i in $(seq "$ROUNDS"); do
  # shellcheck disable=SC2086
  a=$(one a "$A" ${A_ARGS:-}); b=$(one b "$B" ${B_ARGS:-})
  a_all+=("$a"); b_all+=("$b")
  echo "round $i: A $a req/CPU-s, B $b req/CPU-s, B/A $(python3 -c "print(round($b / $a, 3))")"
done
python3 - "${a_all[*]}" "${b_all[*]}" <<'EOF'
import statistics, sys
a = [float(x) for x in sys.argv[1].split()]
b = [float(x) for x in sys.argv[2].split()]
ratios = [y / x for x, y in zip(a, b)]
print(f"median: A {statistics.median(a):.0f}, B {statistics.median(b):.0f} req/CPU-s; "
      f"B/A pairs {', '.join(f'{r:.3f}' for r in ratios)} (median {statistics.median(ratios):.3f})")
EOF
