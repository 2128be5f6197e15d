#!/usr/bin/env bash
# Benchmarks the shared layer cache as an ephemeral CI agent meets it, in this one run, against
# s3rver on 127.0.0.1 (tests/servers/s3.sh starts it):
#   1. a cold bake of the example agent (examples/linux-agent): an empty cache, packages from
#      the Debian mirror, every step run;
#   2. the same machine uploading its layers to s3://kiln/cache (--cache-to): what --cache-to
#      adds to a bake whose layers are all cached;
#   3. the agent's last step edited (files/setup.sh), then baked by "agents" that each start with
#      an empty cache and --cache-from the bucket: every layer below the edit comes from S3.
# The figure is (3) against (1); the target is ≤ 25 %. Each agent round (default 3, --rounds N)
# starts from nothing; the median is reported. Needs root and the Debian mirror.
#
#   ./bench/shared_cache.sh [--rounds N]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
KILN=${KILN:-$ROOT/build/src/kiln}
ROUNDS=3
[ "${1:-}" = "--rounds" ] && ROUNDS=${2:?--rounds needs a number}
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
[ -x "$KILN" ] || { echo "bench: build kiln first (./scripts/setup.sh --tests)" >&2; exit 1; }

WORK=$(mktemp -d /var/tmp/kiln-bench-shared-XXXXXX)
. tests/servers/s3.sh
trap 's3_servers_stop >/dev/null; rm -rf "$WORK"' EXIT
s3_servers_start >&2
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export KILN_S3_ENDPOINT=$KILN_TEST_S3_ENDPOINT
export AGENT_FEED_TOKEN=kiln-example-feed-token SOURCE_DATE_EPOCH=1700000000

"$KILN" key generate --dir "$WORK/keys" --name cache >/dev/null
head -c 32 /dev/urandom >"$WORK/secret.key" && chmod 600 "$WORK/secret.key"
SHARED=(--key "$WORK/keys/cache.key" --public-key "$WORK/keys/cache.pub"
        --cache-secret-key "$WORK/secret.key")
BUCKET=s3://kiln/cache
cp -r examples/linux-agent "$WORK/agent"

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc -l; }
median() { sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]}'; }
bake() { # LOG ARGS...: a bake, its output kept
  local log=$1; shift
  "$KILN" build "$WORK/agent/image.yaml" "$@" >"$log" 2>&1 || { cat "$log"; exit 1; }
}

sync
start=$(now)
bake "$WORK/cold.log" --out "$WORK/out-cold" --cache-dir "$WORK/cache-cold" "${SHARED[@]}"
cold=$(since "$start")
start=$(now)
bake "$WORK/seed.log" --out "$WORK/out-seed" --cache-dir "$WORK/cache-cold" "${SHARED[@]}" \
  --cache-to "$BUCKET"
seed=$(since "$start")
uploaded=$(sed -n 's/.*shared *\([0-9]*\) layers uploaded.*(\(.*\) of new chunks).*/\1 layers, \2/p' "$WORK/seed.log")

echo 'echo "edited for the benchmark" > /etc/agent-edited' >>"$WORK/agent/files/setup.sh"
agent_t=()
for i in $(seq "$ROUNDS"); do
  rm -rf "$WORK/cache-agent"
  sync
  start=$(now)
  bake "$WORK/agent-$i.log" --out "$WORK/out-agent" --cache-dir "$WORK/cache-agent" \
    "${SHARED[@]}" --cache-from "$BUCKET"
  agent_t+=("$(since "$start")")
done
read_line=$(sed -n 's/.*shared *\([0-9]*\) layers from .* (\(.*\) read).*/\1 layers, \2/p' "$WORK/agent-1.log")
built=$(sed -n 's/.*(\([0-9]*\) of \([0-9]*\) layers from the cache).*/\1 of \2/p' "$WORK/agent-1.log")
at=$(printf '%s\n' "${agent_t[@]}" | median)
pct() { echo "scale=1; 100 * $1 / $2" | bc -l | sed 's/^\./0./'; }

echo
echo "bench: $(nproc) cores, kiln $("$KILN" --version), examples/linux-agent, s3rver on 127.0.0.1"
printf '| %-58s | %9s | %9s |\n' "" "seconds" "of cold"
printf '|%s|%s|%s|\n' "------------------------------------------------------------" "-----------" "-----------"
printf '| %-58s | %9.1f | %9s |\n' "cold bake (empty cache)" "$cold" "100 %"
printf '| %-58s | %9.1f | %7s %% |\n' "same machine, all cached, --cache-to ($uploaded)" "$seed" "$(pct "$seed" "$cold")"
printf '| %-58s | %9.1f | %7s %% |\n' "ephemeral agent, last step edited (median of $ROUNDS)" "$at" "$(pct "$at" "$cold")"
echo
echo "agent: $built layers from the caches; shared cache: $read_line"
echo "agent runs: ${agent_t[*]}"
grep -E '^\S+ +(done|cached)|(cached|done) ' "$WORK/agent-1.log" | sed 's/^/  /' || true
echo "Target: the ephemeral agent ≤ 25 % of the cold bake."
