#!/usr/bin/env bash
# Benchmarks kiln's bake of the reference agent image (bench/reference-agent) against the floor: what a person would do
# by hand, one `mmdebstrap --include=<the same packages>` plus one chroot script doing the rest.
# Every case runs in this one invocation, on this machine, and is reported as seconds and as a
# ratio to the floor and to kiln's cold bake. Needs root and the Debian mirror.
#
#   ./bench/run.sh                  each case once
#   ./bench/run.sh --repeat 3       each case three times, the median reported
#   KILN=path/to/kiln ./bench/run.sh
#
# Cases:
#   floor (empty download cache)   mmdebstrap + chroot script, packages downloaded
#   floor (warm download cache)    the same, packages from a local cache (mmdebstrap's hooks)
#   kiln cold (empty caches)       nothing cached at all
#   kiln cold (warm downloads)     no layers cached, packages already downloaded
#   kiln rebuild, no change        everything cached
#   kiln rebuild, last step edited files/setup.sh changed
#   kiln rebuild, first step edited one package added to the first step
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
KILN=${KILN:-$ROOT/build/src/kiln}
REPEAT=1
[ "${1:-}" = "--repeat" ] && REPEAT=${2:?--repeat needs a number}
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
[ -x "$KILN" ] || { echo "bench: build kiln first (./scripts/setup.sh)" >&2; exit 1; }

WORK=$(mktemp -d /var/tmp/kiln-bench-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
EXAMPLE="$WORK/example"
cp -r "$ROOT/bench/reference-agent" "$EXAMPLE"
export SOURCE_DATE_EPOCH=1700000000
PACKAGES="ca-certificates,git,curl,jq,unzip,python3,build-essential,sudo,openssh-client"

now() { date +%s.%N; }
declare -A RESULT

# time_case NAME COMMAND...: runs COMMAND $REPEAT times (after `prepare_NAME` if defined) and
# records the median wall time.
time_case() {
  local name=$1; shift
  local times=()
  for _ in $(seq "$REPEAT"); do
    if declare -F "prepare" >/dev/null; then prepare; fi
    local start end
    start=$(now)
    "$@" >"$WORK/last.log" 2>&1 || { cat "$WORK/last.log"; echo "bench: '$name' failed" >&2; exit 1; }
    end=$(now)
    times+=("$(echo "$end - $start" | bc -l)")
  done
  RESULT[$name]=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  printf '  %-34s %8.2f s\n' "$name" "${RESULT[$name]}" >&2
}

# The floor: the same image by hand.
floor() {
  local cache=$1 tree="$WORK/floor-tree"
  rm -rf "$tree"
  local hooks=()
  if [ -n "$cache" ]; then
    mkdir -p "$cache"
    hooks=(--skip=essential/unlink
           --setup-hook='mkdir -p "$1/var/cache/apt/archives"'
           --setup-hook="sync-in $cache /var/cache/apt/archives/"
           --customize-hook="sync-out /var/cache/apt/archives $cache")
  fi
  mmdebstrap --mode=root --variant=minbase --include="$PACKAGES" "${hooks[@]}" bookworm "$tree"
  mkdir -p "$tree/opt/agent-tools"
  cp "$EXAMPLE/files/agent-env.sh" "$tree/etc/profile.d/agent-env.sh"
  chmod 0644 "$tree/etc/profile.d/agent-env.sh"
  tar -xzf "$EXAMPLE/artifacts/agent-tools-1.2.0.tar.gz" -C "$tree/opt/agent-tools" --strip-components=1
  cp "$EXAMPLE/files/setup.sh" "$tree/tmp/setup.sh"
  chroot "$tree" /bin/sh -eu -c '
    useradd --create-home --uid 1001 --shell /bin/bash --groups sudo azdo
    mkdir -p /opt/azdo/work
    chown -R azdo:azdo /opt/azdo
    sh -eu /tmp/setup.sh
    rm /tmp/setup.sh'
  # The image tests of bench/reference-agent, by hand.
  chroot "$tree" /bin/sh -eu -c '
    id azdo | grep -q "(sudo)"
    test -f /etc/profile.d/agent-env.sh
    grep -q "^AGENT_USER=azdo$" /etc/azdo-agent-release
    dpkg -s git >/dev/null
    /opt/agent-tools/bin/agent-healthcheck
    git --version | grep -q "^git version 2\."
    python3 --version | grep -q "^Python 3\."
    gcc --version | grep -q gcc
    runuser -u azdo -- test -O /opt/azdo/work'
}

kiln_build() { "$KILN" build "$EXAMPLE/image.yaml" --out "$WORK/out" --cache-dir "$WORK/cache"; }

echo "bench: $(nproc) cores, kiln $("$KILN" --version), repeat $REPEAT" >&2
prepare() { rm -rf "$WORK/floor-cache"; }
time_case "floor (empty download cache)" floor ""
prepare() { :; }
floor "$WORK/floor-cache" >/dev/null 2>&1 # warms the floor's download cache
time_case "floor (warm download cache)" floor "$WORK/floor-cache"

prepare() { rm -rf "$WORK/cache"; }
time_case "kiln cold (empty caches)" kiln_build
prepare() { rm -rf "$WORK/cache/layers" "$WORK/cache/exports"; }
time_case "kiln cold (warm downloads)" kiln_build
prepare() { :; }
time_case "kiln rebuild, no change" kiln_build
prepare() { echo "echo edit-$RANDOM$RANDOM >> /etc/azdo-agent-release" >>"$EXAMPLE/files/setup.sh"; }
time_case "kiln rebuild, last step edited" kiln_build
# The first step changes for real: `less` joins its packages; on repeats the list is rotated, so
# that every run is a miss again.
edit_first_step() {
  python3 - "$EXAMPLE/image.yaml" <<'PY'
import re, sys
path = sys.argv[1]
text = open(path).read()
match = re.search(r"packages: \[([^\]]*)\]", text.split("steps:")[1])
items = [p.strip() for p in match.group(1).split(",")]
items = items[1:] + items[:1] if "less" in items else ["less"] + items
text = text.replace(match.group(0), "packages: [" + ", ".join(items) + "]", 1)
open(path, "w").write(text)
PY
}
prepare() { edit_first_step; }
time_case "kiln rebuild, first step edited" kiln_build

floor_empty=${RESULT["floor (empty download cache)"]}
floor_warm=${RESULT["floor (warm download cache)"]}
cold=${RESULT["kiln cold (empty caches)"]}
ratio() { echo "scale=3; $1 / $2" | bc -l | sed 's/^\./0./'; }
echo
printf '| %-34s | %8s | %9s | %9s |\n' "case" "seconds" "× floor" "× cold"
printf '|%s|%s|%s|%s|\n' "------------------------------------" "----------" "-----------" "-----------"
for name in "floor (empty download cache)" "floor (warm download cache)" "kiln cold (empty caches)" \
            "kiln cold (warm downloads)" "kiln rebuild, no change" "kiln rebuild, last step edited" \
            "kiln rebuild, first step edited"; do
  t=${RESULT[$name]}
  case "$name" in
    *"warm"*) floor=$floor_warm ;;
    *) floor=$floor_empty ;;
  esac
  printf '| %-34s | %8.2f | %9s | %9s |\n' "$name" "$t" "$(ratio "$t" "$floor")" "$(ratio "$t" "$cold")"
done
echo
echo "Targets: kiln cold ≤ 1.15 × floor; no change ≤ 1 s; last step edited ≤ 0.10 × cold."
echo "(Ratios to the floor use the floor with the same download cache state.)"
