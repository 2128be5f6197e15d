# The S3 servers the tests use, on 127.0.0.1: s3rver (from npm, installed into build/test-tools)
# with a bucket named "kiln" in a temporary folder, and tests/servers/s3_proxy.py in front of it
# (conditional writes, faults on cue). Sourced by scripts/test.sh:
#   s3_servers_start   exports KILN_TEST_S3_ENDPOINT (s3rver itself), KILN_TEST_S3_CAS_ENDPOINT
#                      (the proxy) and KILN_TEST_S3_DATA (s3rver's folder)
#   s3_servers_stop
# A test that needs them and finds the variables unset skips, saying why.

S3RVER_VERSION=3.7.1
S3_TOOLS="$(pwd)/build/test-tools"

s3_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

s3_wait_for() { # URL
  for _ in $(seq 100); do
    curl -s -o /dev/null --max-time 1 "$1" && return 0
    sleep 0.1
  done
  echo "s3 servers: $1 did not come up" >&2
  return 1
}

s3_servers_start() {
  if [ ! -x "$S3_TOOLS/node_modules/.bin/s3rver" ]; then
    echo "setup: installing s3rver $S3RVER_VERSION into $S3_TOOLS"
    npm install --silent --no-audit --no-fund --prefix "$S3_TOOLS" "s3rver@$S3RVER_VERSION" >/dev/null
  fi
  S3_DATA=$(mktemp -d "${TMPDIR:-/tmp}/kiln-s3rver-XXXXXX")
  local s3_port proxy_port
  s3_port=$(s3_free_port)
  proxy_port=$(s3_free_port)
  "$S3_TOOLS/node_modules/.bin/s3rver" --address 127.0.0.1 --port "$s3_port" \
    --directory "$S3_DATA/data" --configure-bucket kiln --silent >"$S3_DATA/s3rver.log" 2>&1 &
  S3RVER_PID=$!
  python3 "$(dirname "${BASH_SOURCE[0]}")/s3_proxy.py" "$proxy_port" "$s3_port" \
    >"$S3_DATA/proxy.log" 2>&1 &
  S3_PROXY_PID=$!
  s3_wait_for "http://127.0.0.1:$s3_port/kiln/" || return 1
  s3_wait_for "http://127.0.0.1:$proxy_port/__stats" || return 1
  export KILN_TEST_S3_ENDPOINT="http://127.0.0.1:$s3_port"
  export KILN_TEST_S3_CAS_ENDPOINT="http://127.0.0.1:$proxy_port"
  export KILN_TEST_S3_DATA="$S3_DATA/data"
  echo "s3 servers: s3rver at $KILN_TEST_S3_ENDPOINT, the test proxy at $KILN_TEST_S3_CAS_ENDPOINT"
}

s3_servers_stop() {
  # A server killed here ends with 143: no failure of the tests (test.sh runs under set -e).
  local pid
  for pid in ${S3RVER_PID:-} ${S3_PROXY_PID:-}; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ -n "${S3_DATA:-}" ]; then
    if [ -s "$S3_DATA/s3rver.log" ]; then echo "s3rver's log:"; tail -20 "$S3_DATA/s3rver.log"; fi
    rm -rf "$S3_DATA"
  fi
  return 0
}
