#!/usr/bin/env bash
# The step kinds beyond the example: an artifact over http (served on 127.0.0.1), and from s3://
# when scripts/test.sh started its S3 server, installed with
# dest and mode, a folder copied with an owner, a bash script whose #! is honoured, the artifact
# cache, and services kept from starting during the bake.
. "$(dirname "$0")/lib.sh"
require_root
require_mirror

DEF="$WORK/def"
mkdir -p "$DEF/files/conf.d" "$WORK/www"
printf '#!/bin/sh\necho tool 2.0\n' >"$WORK/www/tool"
printf 'a=1\n' >"$DEF/files/conf.d/a.conf"
printf 'b=2\n' >"$DEF/files/conf.d/b.conf"
cat >"$DEF/files/setup.bash" <<'SH'
#!/bin/bash
# Bash-only syntax: fails under sh.
declare -A kinds=([tool]=/usr/local/bin/tool)
[[ -x ${kinds[tool]} ]] && echo "bash arrays work"
/usr/local/bin/tool
# A service start must be refused by policy-rc.d during the bake.
if /usr/sbin/policy-rc.d; then echo "policy-rc.d allows services"; exit 1; fi
SH

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$WORK/www" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; cleanup_work' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/tool" >/dev/null && break; sleep 0.1; done

write_definition "$DEF" "  - name: tool
    artifact:
      url: http://127.0.0.1:$port/tool
      sha256: $(sha256sum "$WORK/www/tool" | cut -d' ' -f1)
      dest: /usr/local/bin/tool
      mode: \"0755\"
  - name: users
    shell: 'useradd --system --uid 990 agent'
  - name: config
    file: {src: files/conf.d, dest: /etc/agent/conf.d, owner: 'agent:agent', mode: '0640'}
  - name: setup
    shell: {script: files/setup.bash}"

step "bake"
expect_exit 0 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/img1"
expect_in "$WORK/img1/logs/01-inputs.log" "fetching http://127.0.0.1:$port/tool"
expect_in "$WORK/img1/logs/06-setup.log" "bash arrays work"
expect_in "$WORK/img1/logs/06-setup.log" "tool 2.0"
zstd -dc "$WORK/img1/rootfs.tar.zst" | python3 -c '
import sys, tarfile
entries = {e.name: e for e in tarfile.open(fileobj=sys.stdin.buffer, mode="r|")}
tool = entries["usr/local/bin/tool"]
assert (tool.mode, tool.uid) == (0o755, 0), oct(tool.mode)
for name in ["a.conf", "b.conf"]:
    conf = entries["etc/agent/conf.d/" + name]
    assert (conf.mode, conf.uid, conf.gid) == (0o640, 990, 990), (name, oct(conf.mode), conf.uid)
assert entries["etc/agent/conf.d"].uid == 990
'

step "a second bake takes the artifact from the cache"
kill $server
expect_exit 0 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/img2"
expect_in "$WORK/img2/logs/01-inputs.log" "using cached $KILN_CACHE_DIR/artifacts/"

step "a damaged cache entry is fetched again, and fails cleanly when it cannot be"
for f in "$KILN_CACHE_DIR"/artifacts/*; do echo garbage >"$f"; done
expect_exit 4 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/img3"
expect_in "$WORK/img3/logs/01-inputs.log" "is damaged; fetching again"
expect_in "$WORK/err" "cannot download http://127.0.0.1:$port/tool"

if [ -n "${KILN_TEST_S3_ENDPOINT:-}" ] && [ -x /usr/bin/aws ]; then
  step "an artifact from s3://, with the build's AWS credentials and the same sha256 check"
  export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1
  export AWS_EC2_METADATA_DISABLED=true KILN_S3_ENDPOINT="$KILN_TEST_S3_ENDPOINT"
  key="$(basename "$WORK")/tool"
  /usr/bin/aws --endpoint-url "$KILN_TEST_S3_ENDPOINT" s3 cp "$WORK/www/tool" "s3://kiln/$key" >/dev/null
  rm -rf "$KILN_CACHE_DIR/artifacts"
  sed -i "s|url: http://127.0.0.1:$port/tool|url: s3://kiln/$key|" "$DEF/image.yaml"
  expect_exit 0 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/img-s3"
  expect_in "$WORK/img-s3/logs/01-inputs.log" "fetching s3://kiln/$key"
  expect_in "$WORK/img-s3/logs/01-inputs.log" "verified sha256"
  rm -rf "$KILN_CACHE_DIR/artifacts"
  sed -i "s|url: s3://kiln/$key|url: s3://kiln/$key-missing|" "$DEF/image.yaml"
  expect_exit 4 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/img-s3-missing"
  expect_in "$WORK/err" "s3://kiln/$key-missing: GET answered HTTP 404"
  sed -i "s|url: s3://kiln/$key-missing|url: s3://Bad_Bucket/x|" "$DEF/image.yaml"
  expect_exit 3 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/img-s3-bad"
  expect_in "$WORK/err" "is not an S3 object"
fi
echo "PASS"
