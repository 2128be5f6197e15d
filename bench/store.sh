#!/usr/bin/env bash
# Benchmarks the artifact store against casync (`casync make`), in this one invocation:
#   1. bytes stored for a second version that differs from the first by one added package
#      (bench/reference-agent as 1.0.0, and 1.0.1 with one more step installing `tree`);
#   1b. the same the way users publish: two git commits a day apart, the second adding `tree` to
#      the existing `tools` step, no SOURCE_DATE_EPOCH (the epoch comes from the commits), baked
#      with the cache kept between the commits, and again with an empty cache for the second;
#   2. throughput of chunking, hashing and compressing the same rootfs tar: `kiln store put`
#      against `casync make`, each into a fresh store, alternating, the median of --repeat runs.
# Needs root and the Debian mirror (it bakes); installs casync if it is missing.
#
#   ./bench/store.sh                 each throughput case three times
#   ./bench/store.sh --repeat 5
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
KILN=${KILN:-$ROOT/build/src/kiln}
REPEAT=3
[ "${1:-}" = "--repeat" ] && REPEAT=${2:?--repeat needs a number}
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
[ -x "$KILN" ] || { echo "bench: build kiln first (./scripts/setup.sh)" >&2; exit 1; }
command -v casync >/dev/null || apt-get install -y -qq casync >/dev/null

WORK=$(mktemp -d /var/tmp/kiln-bench-store-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export SOURCE_DATE_EPOCH=1700000000
cp -r "$ROOT/bench/reference-agent" "$WORK/v1"
cp -r "$ROOT/bench/reference-agent" "$WORK/v2"
sed -i 's/^version: 1.0.0/version: 1.0.1/' "$WORK/v2/image.yaml"
python3 - "$WORK/v2/image.yaml" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
# The new step goes after the last step, before the image tests.
step = "  - name: one-more-package\n    packages: [tree]\n\n"
at = text.index("\n# What a platform team checks")
open(path, "w").write(text[:at + 1] + step + text[at + 1:])
PY

echo "bench: $(nproc) cores, kiln $("$KILN" --version), $(casync --version | awk 'NR == 1')" >&2
for v in v1 v2; do
  "$KILN" build "$WORK/$v/image.yaml" --out "$WORK/out-$v" --cache-dir "$WORK/cache" \
    >"$WORK/build-$v.log" 2>&1 || { cat "$WORK/build-$v.log"; exit 1; }
  zstd -q -d -c "$WORK/out-$v/rootfs.tar.zst" >"$WORK/rootfs-$v.tar"
done
tar_bytes=$(stat -c %s "$WORK/rootfs-v1.tar")
bytes() { du -sb "$1" | cut -f1; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# 1. A second version.
"$KILN" publish "$WORK/out-v1" --store "$WORK/kiln-store" --json >"$WORK/p1.json"
"$KILN" publish "$WORK/out-v2" --store "$WORK/kiln-store" --json >"$WORK/p2.json"
k1=$(json "['stored_bytes']" <"$WORK/p1.json")
k2=$(json "['stored_bytes']" <"$WORK/p2.json")
casync make --store="$WORK/ca-store" "$WORK/v1.caibx" "$WORK/rootfs-v1.tar" >/dev/null
c1=$(bytes "$WORK/ca-store")
casync make --store="$WORK/ca-store" "$WORK/v2.caibx" "$WORK/rootfs-v2.tar" >/dev/null
c2=$(( $(bytes "$WORK/ca-store") - c1 ))

# 1b. Two git commits, the epoch from git.
commit() { # commit DIR MESSAGE DATE
  (cd "$1" && git add -A && GIT_AUTHOR_DATE="$3" GIT_COMMITTER_DATE="$3" \
    git -c user.name=bench -c user.email=bench@localhost commit -qm "$2")
}
git_bake() { # git_bake OUT CACHE
  env -u SOURCE_DATE_EPOCH "$KILN" build "$WORK/repo/image.yaml" --out "$1" --cache-dir "$2" \
    >"$WORK/build-git.log" 2>&1 || { cat "$WORK/build-git.log"; exit 1; }
}
stored() { "$KILN" publish "$1" --store "$2" --json | json "['stored_bytes']"; }
cp -r "$ROOT/bench/reference-agent" "$WORK/repo"
git -C "$WORK/repo" init -q
commit "$WORK/repo" "1.0.0" "2026-11-02T09:00:00Z"
git_bake "$WORK/out-g1" "$WORK/cache-git"
g1=$(stored "$WORK/out-g1" "$WORK/kiln-store-git")
sed -i 's/^version: 1.0.0/version: 1.0.1/; s/packages: \[git, /packages: [git, tree, /' "$WORK/repo/image.yaml"
commit "$WORK/repo" "1.0.1: tree" "2026-11-03T09:30:00Z"
git_bake "$WORK/out-g2" "$WORK/cache-git"
g2=$(stored "$WORK/out-g2" "$WORK/kiln-store-git")
git_bake "$WORK/out-g2-fresh" "$WORK/cache-git-fresh"
"$KILN" publish "$WORK/out-g1" --store "$WORK/kiln-store-git-fresh" >/dev/null
g2_fresh=$(stored "$WORK/out-g2-fresh" "$WORK/kiln-store-git-fresh")

# 2. Throughput on the same tar, fresh stores, alternating.
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
kiln_times=() casync_times=()
for i in $(seq "$REPEAT"); do
  sync
  start=$(now)
  "$KILN" store put "$WORK/rootfs-v1.tar" --store "$WORK/kiln-put-$i" >/dev/null
  kiln_times+=("$(echo "$(now) - $start" | bc -l)")
  sync
  start=$(now)
  casync make --store="$WORK/ca-put-$i" "$WORK/put-$i.caibx" "$WORK/rootfs-v1.tar" >/dev/null
  casync_times+=("$(echo "$(now) - $start" | bc -l)")
done
kt=$(printf '%s\n' "${kiln_times[@]}" | median)
ct=$(printf '%s\n' "${casync_times[@]}" | median)
mib() { echo "scale=1; $tar_bytes / 1048576 / $1" | bc -l; }
pct() { echo "scale=3; 100 * $1 / $2" | bc -l | sed 's/^\./0./'; }

echo
echo "rootfs tar: $(echo "scale=1; $tar_bytes / 1048576" | bc -l) MiB"
printf '| %-44s | %12s | %12s |\n' "" "kiln" "casync make"
printf '|%s|%s|%s|\n' "----------------------------------------------" "--------------" "--------------"
printf '| %-44s | %12s | %12s |\n' "first version stored (bytes)" "$k1" "$c1"
printf '| %-44s | %12s | %12s |\n' "second version (+1 package) stored (bytes)" "$k2" "$c2"
printf '| %-44s | %11s%% | %11s%% |\n' "second / first" "$(pct "$k2" "$k1")" "$(pct "$c2" "$c1")"
printf '| %-44s | %11s%% | %12s |\n' "git commits: second / first (cache kept)" "$(pct "$g2" "$g1")" "-"
printf '| %-44s | %11s%% | %12s |\n' "git commits: second / first (empty cache)" "$(pct "$g2_fresh" "$g1")" "-"
printf '| %-44s | %10.2f s | %10.2f s |\n' "chunk+hash+compress the tar (median of $REPEAT)" "$kt" "$ct"
printf '| %-44s | %8s MiB/s | %8s MiB/s |\n' "throughput" "$(mib "$kt")" "$(mib "$ct")"
echo
echo "kiln's throughput is $(echo "scale=2; $ct / $kt" | bc -l) × casync's (runs: kiln ${kiln_times[*]}; casync ${casync_times[*]})"
echo "Targets: second version ≤ 1 % of the first's bytes; throughput ≥ 2 × casync's."
