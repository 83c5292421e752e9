#!/usr/bin/env bash
# Dashboard cost: generator throughput with the live dashboard on (loadgen in a
# 120x40 tmux pane, a real pseudo-terminal) against headless, both in the same
# kind of tmux pane and plain (output to a file), alternating, same target.
# Requests are counted by the target.
# Usage: scripts/bench/tui.sh [USERS] [SECONDS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
USERS=${1:-50}
SECS=${2:-15}
ROUNDS=${3:-3}
PORT=18090
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release
cargo build --release -p scenarios --bins >&2
command -v tmux >/dev/null || { echo "needs tmux" >&2; exit 1; }
tmp=$(mktemp -d)
sock="$tmp/tmux.sock"
"$BIN/bench-target" 127.0.0.1:$PORT & target_pid=$!
trap 'kill $target_pid 2>/dev/null; tmux -S "$sock" kill-server 2>/dev/null; rm -rf "$tmp"' EXIT
sleep 0.5
count() { python3 -c "import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:$PORT/count').read().decode())"; }
# Runs a command, writes its CPU seconds (user+sys) to OUTFILE; output untouched.
cat >"$tmp/cpu.py" <<'PY'
import resource, subprocess, sys
subprocess.call(sys.argv[2:])
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write(f"{ru.ru_utime + ru.ru_stime:.3f}\n")
PY
RUN=("$BIN/loadgen" run "plan:$USERS,0s;$USERS,${SECS}s" --host "http://127.0.0.1:$PORT"
  --scenario http-get --path / --profile api-slo)

measure() { # mode
  local mode=$1 before after reqs
  before=$(count)
  if [ "$mode" != headless ]; then
    local flag=--tui
    [ "$mode" = tmux-headless ] && flag=--headless
    tmux -S "$sock" new-session -d -s bench -x 120 -y 40 \
      "python3 $tmp/cpu.py $tmp/cpu ${RUN[*]@Q} --out $tmp/run-$mode $flag; tmux -S $sock wait-for -S done"
    tmux -S "$sock" wait-for done
  else
    python3 "$tmp/cpu.py" "$tmp/cpu" "${RUN[@]}" --out "$tmp/run-headless" --headless >"$tmp/headless.out" 2>&1
  fi
  after=$(count)
  reqs=$((after - before))
  printf "| %-13s | %9d | %8.2f | %10.0f | %8.0f |\n" "$mode" "$reqs" "$(cat "$tmp/cpu")" \
    "$(echo "$reqs / $(cat "$tmp/cpu")" | bc -l)" "$(echo "$reqs / $SECS" | bc -l)"
}

echo "users=$USERS seconds=$SECS rounds=$ROUNDS target=bench-target on $(nproc) cores, $(date -u +%F)"
echo "| mode          |  requests | CPU s    | req/CPU-s  | req/s    |"
echo "|---------------|-----------|----------|------------|----------|"
# Every other round in reverse order, so drift (target state, neighbours) evens out.
for round in $(seq "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then order="headless tmux-headless tui"; else order="tui tmux-headless headless"; fi
  for mode in $order; do measure "$mode"; done
done
