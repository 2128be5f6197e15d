#!/usr/bin/env bash
# Benchmarks the S3 store against the AWS CLI, in this one run, against s3rver on 127.0.0.1
# (tests/servers/s3.sh starts it, with the test proxy that counts requests and bytes):
#   1. publishing the example's first version (bench/reference-agent, baked here), in seconds,
#      against `aws s3 cp` of its rootfs.tar.zst to the same server (parallel multipart parts);
#   2. a second version with one more package: bytes uploaded and requests, through the proxy;
#   3. pulling the first version into an empty folder against `aws s3 cp` of the tar back.
#   4. the same publish and pull on a local folder store: the part of the time that is kiln's own
#      work (reading the frames, hashing, writing), not the transfer.
# Each timing is the median of --rounds alternating runs (default 3), each publish into a new
# prefix, so nothing is already there. Needs root and the Debian mirror (it bakes; the bake cache
# stays in /var/tmp/kiln-bench-s3-cache, so a second run skips the cold bakes).
#
#   ./bench/s3.sh [--rounds N]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
KILN=${KILN:-$ROOT/build/src/kiln}
ROUNDS=3
[ "${1:-}" = "--rounds" ] && ROUNDS=${2:?--rounds needs a number}
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
[ -x "$KILN" ] || { echo "bench: build kiln first (./scripts/setup.sh --tests)" >&2; exit 1; }
AWS=/usr/bin/aws
[ -x "$AWS" ] || apt-get install -y -qq awscli >/dev/null

WORK=$(mktemp -d /var/tmp/kiln-bench-s3-XXXXXX)
. tests/servers/s3.sh
trap 's3_servers_stop >/dev/null; rm -rf "$WORK"' EXIT
s3_servers_start >&2
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
S3=$KILN_TEST_S3_ENDPOINT
PROXY=$KILN_TEST_S3_CAS_ENDPOINT

# The example, and the same with one more package.
export SOURCE_DATE_EPOCH=1700000000
cp -r bench/reference-agent "$WORK/v1"
cp -r bench/reference-agent "$WORK/v2"
sed -i 's/^version: 1.0.0/version: 1.0.1/; s/packages: \[git, /packages: [git, tree, /' "$WORK/v2/image.yaml"
for v in v1 v2; do
  "$KILN" build "$WORK/$v/image.yaml" --out "$WORK/out-$v" --cache-dir /var/tmp/kiln-bench-s3-cache \
    >"$WORK/build-$v.log" 2>&1 || { cat "$WORK/build-$v.log"; exit 1; }
done
tar=$WORK/out-v1/rootfs.tar.zst
name=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["name"])' "$WORK/out-v1/manifest.json")
tar_mib=$(echo "scale=1; $(stat -c %s "$tar") / 1048576" | bc -l)

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc -l; }
median() { sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]}'; }
stats() { curl -fsS "$PROXY/__stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

publish_t=() aws_up_t=() pull_t=() aws_down_t=() local_pub_t=() local_pull_t=()
for i in $(seq "$ROUNDS"); do
  sync
  start=$(now)
  "$KILN" publish "$WORK/out-v1" --store "s3://kiln/bench-$i" --endpoint "$S3" >/dev/null
  publish_t+=("$(since "$start")")
  start=$(now)
  "$AWS" --endpoint-url "$S3" s3 cp "$tar" "s3://kiln/aws-$i/rootfs.tar.zst" >/dev/null
  aws_up_t+=("$(since "$start")")
  rm -rf "$WORK/pulled"
  start=$(now)
  "$KILN" pull "$name@1.0.0" --to "$WORK/pulled" --store "s3://kiln/bench-$i" --endpoint "$S3" >/dev/null
  pull_t+=("$(since "$start")")
  rm -f "$WORK/down.tar.zst"
  start=$(now)
  "$AWS" --endpoint-url "$S3" s3 cp "s3://kiln/aws-$i/rootfs.tar.zst" "$WORK/down.tar.zst" >/dev/null
  aws_down_t+=("$(since "$start")")
  cmp -s "$tar" "$WORK/pulled/rootfs.tar.zst" || { echo "bench: the pulled tar differs" >&2; exit 1; }
  start=$(now)
  "$KILN" publish "$WORK/out-v1" --store "$WORK/local-$i" >/dev/null
  local_pub_t+=("$(since "$start")")
  rm -rf "$WORK/pulled"
  start=$(now)
  "$KILN" pull "$name@1.0.0" --to "$WORK/pulled" --store "$WORK/local-$i" >/dev/null
  local_pull_t+=("$(since "$start")")
  rm -rf "$WORK/local-$i"
done

# The first version through the proxy, then the second: what the second sends.
"$KILN" publish "$WORK/out-v1" --store s3://kiln/counted --endpoint "$PROXY" >/dev/null
curl -fsS -X DELETE "$PROXY/__stats" >/dev/null
"$KILN" publish "$WORK/out-v2" --store s3://kiln/counted --endpoint "$PROXY" --json >"$WORK/p2.json"
second_requests=$(stats requests)
second_up=$(stats bytes_up)
curl -fsS -X DELETE "$PROXY/__stats" >/dev/null
"$KILN" publish "$WORK/out-v1" --store s3://kiln/counted-first --endpoint "$PROXY" >/dev/null
first_requests=$(stats requests)
first_up=$(stats bytes_up)

pt=$(printf '%s\n' "${publish_t[@]}" | median)
ut=$(printf '%s\n' "${aws_up_t[@]}" | median)
lt=$(printf '%s\n' "${pull_t[@]}" | median)
dt=$(printf '%s\n' "${aws_down_t[@]}" | median)
lp=$(printf '%s\n' "${local_pub_t[@]}" | median)
ll=$(printf '%s\n' "${local_pull_t[@]}" | median)
ratio() { echo "scale=2; $1 / $2" | bc -l | sed 's/^\./0./'; }
pct() { echo "scale=3; 100 * $1 / $2" | bc -l | sed 's/^\./0./'; }

echo
echo "bench: $(nproc) cores, kiln $("$KILN" --version), $("$AWS" --version | cut -d' ' -f1), rootfs.tar.zst $tar_mib MiB, median of $ROUNDS"
printf '| %-40s | %10s | %12s | %8s |\n' "" "kiln" "aws s3 cp" "ratio"
printf '|%s|%s|%s|%s|\n' "------------------------------------------" "------------" "--------------" "----------"
printf '| %-40s | %8s s | %10s s | %8s |\n' "publish the first version" "$pt" "$ut" "$(ratio "$pt" "$ut")"
printf '| %-40s | %8s s | %10s s | %8s |\n' "pull it into an empty folder" "$lt" "$dt" "$(ratio "$lt" "$dt")"
printf '| %-40s | %8s s | %12s | %8s |\n' "publish to a local folder store" "$lp" "" ""
printf '| %-40s | %8s s | %12s | %8s |\n' "pull from a local folder store" "$ll" "" ""
printf '| %-40s | %10s | %12s | %8s |\n' "first version: requests, bytes sent" "$first_requests" "$first_up" ""
printf '| %-40s | %10s | %12s | %8s |\n' "second (+1 package): requests, bytes" "$second_requests" "$second_up" ""
echo
echo "second version's bytes: $(pct "$second_up" "$first_up") % of the first's"
echo "runs: publish ${publish_t[*]}; aws up ${aws_up_t[*]}; pull ${pull_t[*]}; aws down ${aws_down_t[*]}; local publish ${local_pub_t[*]}; local pull ${local_pull_t[*]}"
echo "Targets: publish and pull ≤ 1.2 × aws s3 cp; second version ≤ 1 % of the bytes and ≤ 20 requests."
