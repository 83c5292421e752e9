#!/usr/bin/env bash
# HTTPS and HTTP/2 generator efficiency beside the tools that speak them, in one
# sitting: requests per generator CPU-second (user+sys, scripts/bench/cputime.py)
# against one nginx worker answering `200 ok` itself, over TLS (HTTP/1.1 and
# HTTP/2 by ALPN) and plain HTTP, USERS connections each, no think time:
#   loadgen (a connection per user, --http 1.1) vs wrk (https)
#   loadgen (a connection per user, --http 2, one stream at a time per user)
#     vs h2load -c USERS -m1 (and oha --http2 when installed)
#   plain HTTP/1.1: loadgen vs wrk
# then a full-handshake storm: STORM new users over 5 s, each doing one request
# per second on its own new TLS connection: handshakes per second and the
# generator's CPU per handshake (and whether its self-check says it kept up).
# Usage: scripts/bench/tls.sh [USERS] [SECONDS] [STORM]   (defaults 50 10 2000)
# Installs what is missing with apt: nginx, wrk, nghttp2-client (h2load), openssl.
set -euo pipefail
cd "$(dirname "$0")/../.."
USERS=${1:-50}
SECS=${2:-10}
STORM=${3:-2000}
TLS_PORT=${TLS_PORT:-18443}
PLAIN_PORT=${PLAIN_PORT:-18088}
BIN=target/release/loadgen
cargo build --release -p scenarios --bin loadgen >&2
missing=()
for t in nginx:nginx wrk:wrk h2load:nghttp2-client openssl:openssl; do
  command -v "${t%%:*}" >/dev/null || missing+=("${t#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  (apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}") >/dev/null 2>&1
fi
ulimit -n "$(ulimit -Hn)"
tmp=$(mktemp -d)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
  -addext basicConstraints=critical,CA:FALSE \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
cat > "$tmp/nginx.conf" <<EOF
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
  ssl_session_cache shared:SSL:10m;
  server {
    # Debian 12's nginx (1.22) names HTTP/2 on the listen line.
    listen 127.0.0.1:$TLS_PORT ssl http2;
    listen 127.0.0.1:$PLAIN_PORT;
    ssl_certificate $tmp/cert.pem;
    ssl_certificate_key $tmp/key.pem;
    location / { return 200 "ok"; }
  }
}
EOF
nginx -c "$tmp/nginx.conf" -p "$tmp"
trap 'kill "$(cat "$tmp/nginx.pid")" 2>/dev/null; rm -rf "$tmp"' EXIT
sleep 0.3
HTTPS="https://localhost:$TLS_PORT"
HTTP="http://127.0.0.1:$PLAIN_PORT"

cpu_of() { read -r cpu _ < "$tmp/cpu"; echo "$cpu"; }
row() { # name requests cpu
  printf "| %-34s | %9d | %7.2f | %10.0f |\n" "$1" "$2" "$3" "$(echo "$2 / $3" | bc -l)"
}
loadgen_run() { # name url args...
  local name=$1 url=$2; shift 2
  local dir="$tmp/run-${name//[^A-Za-z0-9]/-}"
  python3 scripts/bench/cputime.py "$tmp/cpu" -- "$BIN" run "plan:$USERS,0s;$USERS,${SECS}s" \
    --host "$url" --scenario http-get --path / --profile none --allow-failures --headless \
    --ca "$tmp/cert.pem" --out "$dir" "$@" || true
  row "$name" "$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['total']['requests'])" "$dir/summary.json")" "$(cpu_of)"
}
wrk_run() { # name url
  python3 scripts/bench/cputime.py "$tmp/cpu" --show -- wrk -t2 -c "$USERS" -d "${SECS}s" "$2/" > "$tmp/wrk.out" || true
  row "$1" "$(grep -oE '[0-9]+ requests in' "$tmp/wrk.out" | grep -oE '^[0-9]+')" "$(cpu_of)"
}
h2load_run() {
  python3 scripts/bench/cputime.py "$tmp/cpu" --show -- h2load -c "$USERS" -m 1 -t 2 -D "$SECS" "$HTTPS/" > "$tmp/h2load.out" || true
  row "h2load -m1 (HTTP/2, TLS)" "$(grep -oE '[0-9]+ succeeded' "$tmp/h2load.out" | grep -oE '^[0-9]+')" "$(cpu_of)"
}

echo "users=$USERS seconds=$SECS target=nginx 1 worker (return 200) on $(nproc) cores, $(date -u +%F)"
echo "| generator                          |  requests |  CPU s  | req/CPU-s  |"
echo "|------------------------------------|-----------|---------|------------|"
loadgen_run "loadgen HTTPS HTTP/1.1" "$HTTPS" --http 1.1
wrk_run "wrk HTTPS HTTP/1.1" "$HTTPS"
loadgen_run "loadgen HTTPS HTTP/2" "$HTTPS" --http 2
h2load_run
if command -v oha >/dev/null; then
  python3 scripts/bench/cputime.py "$tmp/cpu" --show -- oha -z "${SECS}s" -c "$USERS" --http2 --insecure --no-tui --output-format json "$HTTPS/" > "$tmp/oha.json" || true
  row "oha --http2" "$(python3 -c "import json;print(sum(json.load(open('$tmp/oha.json'))['statusCodeDistribution'].values()))")" "$(cpu_of)"
fi
loadgen_run "loadgen HTTP/1.1 (plain)" "$HTTP"
wrk_run "wrk HTTP/1.1 (plain)" "$HTTP"

echo
echo "Full-handshake storm: $STORM new users over 5 s, one request a second each, a new TLS connection per user"
python3 scripts/bench/cputime.py "$tmp/cpu" -- "$BIN" run "plan:$STORM,5s;$STORM,5s" --host "$HTTPS" \
  --scenario http-get --path / --think 1s --profile none --allow-failures --headless \
  --ca "$tmp/cert.pem" --http 1.1 --out "$tmp/storm" || true
python3 - "$tmp/storm/summary.json" "$(cpu_of)" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1])); cpu = float(sys.argv[2])
t = s["connections"]["tls"]
full = t["handshakes_full"]
print(f"handshakes: {full} full, {t['handshakes_resumed']} resumed, {t['failed']} failed over the 5 s ramp "
      f"({full / 5:.0f}/s); handshake p50 {t['p50_us']} us p99 {t['p99_us']} us; "
      f"requests {s['total']['requests']}, failures {s['total']['failures']}")
print(f"generator CPU {cpu:.2f} s in all, {cpu * 1e6 / max(full, 1):.0f} us per handshake (requests included); "
      f"generator_bound: {s['generator_bound']} {s['generator'].get('bound_by', [])}")
EOF
