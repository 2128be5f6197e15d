#!/usr/bin/env bash
# The layer cache shared through a store (--cache-from, --cache-to): a machine with an empty
# cache takes every layer another one uploaded, and bakes the same image byte for byte (whiteouts,
# opaque folders, hard links, FIFOs, owners and times survive the trip); a step with a secret is
# shared only with a fleet-wide secret key; a layer that is unsigned, signed by another key,
# tampered with or missing a chunk is not used (the step runs instead); keys that are missing or
# readable by others are refused; gc and fsck know the cache's layers. With the S3 test server
# (KILN_TEST_S3_ENDPOINT), the same through s3://.
. "$(dirname "$0")/lib.sh"
require_root
require_mirror

"$KILN" key generate --dir "$WORK/keys" --name cache >/dev/null
"$KILN" key generate --dir "$WORK/keys" --name other >/dev/null
KEYS=(--key "$WORK/keys/cache.key" --public-key "$WORK/keys/cache.pub")
head -c 32 /dev/urandom >"$WORK/secret.key"
chmod 600 "$WORK/secret.key"
SHARED="$WORK/shared"

mkdir -p "$WORK/image"
cat >"$WORK/image/image.yaml" <<'YAML'
name: shared-it
version: 0.1.0
base: catalog:debian-12-minimal
secrets:
  token: {env: SHARED_IT_TOKEN}
steps:
  - name: tree
    shell: |
      rm /etc/issue.net                      # a whiteout
      rm -r /usr/share/doc/dash && mkdir /usr/share/doc/dash
      echo replaced > /usr/share/doc/dash/new  # an opaque folder
      mkdir -p /opt/it && echo one > /opt/it/a && ln /opt/it/a /opt/it/b
      mkfifo /opt/it/fifo && chown 1234:5678 /opt/it/a && chmod 4750 /opt/it/a
      ln -s ../it/a /opt/it/link
      cat /usr/lib/x86_64-linux-gnu/*.so* | head -c 4000000 > /opt/it/big
  - name: with-secret
    secrets: [token]
    shell: 'test -s /run/secrets/token && echo used > /etc/secret-step'
  - name: last
    shell: 'echo last > /etc/last-step'
tests:
  - {file: /etc/issue.net, exists: false}
  - {file: /usr/share/doc/dash/new, contains: replaced}
  - {file: /etc/secret-step, contains: used}
YAML
export SHARED_IT_TOKEN=shared-it-secret-value

# The layers of a bake's summary: "(N of M layers from the cache)".
cached_layers() { sed -n 's/.*(\([0-9]*\) of \([0-9]*\) layers from the cache).*/\1/p' "$WORK/out"; }

step "keys are required, and a secret key readable by others is refused"
expect_exit 2 -- "$KILN" build "$WORK/image/image.yaml" --out "$WORK/o" --cache-to "$SHARED"
expect_in "$WORK/err" "the shared cache needs a signing key for the layers it uploads"
expect_exit 2 -- "$KILN" build "$WORK/image/image.yaml" --out "$WORK/o" --cache-from "$SHARED"
expect_in "$WORK/err" "the shared cache needs a public key that its layers are signed with"
cp "$WORK/secret.key" "$WORK/open.key" && chmod 644 "$WORK/open.key"
expect_exit 2 -- "$KILN" build "$WORK/image/image.yaml" --out "$WORK/o" --cache-to "$SHARED" \
  "${KEYS[@]}" --cache-secret-key "$WORK/open.key"
expect_in "$WORK/err" "can be read or written by others than its owner"
head -c 8 /dev/urandom >"$WORK/short.key" && chmod 600 "$WORK/short.key"
expect_exit 2 -- "$KILN" build "$WORK/image/image.yaml" --out "$WORK/o" --cache-to "$SHARED" \
  "${KEYS[@]}" --cache-secret-key "$WORK/short.key"
expect_in "$WORK/err" "is shorter than 32 bytes"

step "machine A bakes and uploads; the secret step and those above it stay local"
export KILN_CACHE_DIR="$WORK/cache-a"
expect_exit 0 -- "$KILN" build "$WORK/image/image.yaml" --out "$WORK/out-a" --cache-to "$SHARED" \
  "${KEYS[@]}"
expect_in "$WORK/out" "2 layers uploaded to $SHARED"
expect_in "$WORK/out-a/logs/01-inputs.log" "layer 3 and those above it are not shared"
expect_exit 0 -- "$KILN" store fsck --store "$SHARED" --public-key "$WORK/keys/cache.pub"
expect_in "$WORK/out" "2 shared cache layers: no problems"

step "machine B, empty, takes the shared layers and builds the rest"
export KILN_CACHE_DIR="$WORK/cache-b"
expect_exit 0 -- "$KILN" build "$WORK/image/image.yaml" --explain --cache-from "$SHARED" "${KEYS[@]}"
expect_in "$WORK/out" "shared base "
expect_in "$WORK/out" "shared tree"
expect_in "$WORK/out" "not shared: a step at or below it uses a secret"
expect_in "$WORK/out" "0 of 4 layers cached, 2 in the shared cache"
expect_exit 0 -- "$KILN" build "$WORK/image/image.yaml" --out "$WORK/out-b" --cache-from "$SHARED" \
  "${KEYS[@]}"
expect_in "$WORK/out" "2 layers from $SHARED"
[ "$(cached_layers)" = 2 ] || fail "machine B took $(cached_layers) layers from the caches, not 2"
expect_in "$WORK/out-b/logs/02-bootstrap.log" "from the shared cache"
cmp "$WORK/out-a/rootfs.tar.zst" "$WORK/out-b/rootfs.tar.zst" ||
  fail "the image baked on shared layers differs from the one baked without"
expect_cache_clean

step "with the fleet's secret key, the secret step is shared too"
export KILN_CACHE_DIR="$WORK/cache-a"
expect_exit 0 -- "$KILN" build "$WORK/image/image.yaml" --out "$WORK/out-a2" --cache-to "$SHARED" \
  "${KEYS[@]}" --cache-secret-key "$WORK/secret.key"
expect_in "$WORK/out" "2 layers uploaded to $SHARED"
expect_in "$WORK/out" "2 already there"
export KILN_CACHE_DIR="$WORK/cache-c"
expect_exit 0 -- "$KILN" build "$WORK/image/image.yaml" --out "$WORK/out-c" --cache-from "$SHARED" \
  "${KEYS[@]}" --cache-secret-key "$WORK/secret.key" --json
python3 - "$WORK/out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["built_layers"] == 0 and r["shared_cache"]["layers_read"] == 4, r["shared_cache"]
PY
cmp "$WORK/out-a/rootfs.tar.zst" "$WORK/out-c/rootfs.tar.zst" || fail "machine C's image differs"
if grep -rqF "$SHARED_IT_TOKEN" "$WORK/cache-c" "$SHARED"; then fail "the secret's value was cached"; fi

step "a layer signed by another key, or tampered with, or missing a chunk, is built instead"
export KILN_CACHE_DIR="$WORK/cache-d"
expect_exit 0 -- "$KILN" build "$WORK/image/image.yaml" --out "$WORK/out-d" --cache-from "$SHARED" \
  --public-key "$WORK/keys/other.pub"
expect_in "$WORK/err" "has no valid signature by the key in $WORK/keys/other.pub"
[ "$(cached_layers)" = 0 ] || fail "a layer signed by another key was used"
python3 - "$SHARED/index.sqlite" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
key, content = db.execute("SELECT key, content FROM documents WHERE key LIKE 'cache/layers/%' "
                          "AND content LIKE '%\"step\":\"tree\"%'").fetchone()
doc = json.loads(content)
doc["layer"]["specials"]["devices"].append(
    {"path": "dev/sda", "major": 8, "minor": 0, "mode": 438, "uid": 0, "gid": 0, "mtime": [0, 0]})
db.execute("UPDATE documents SET content = ? WHERE key = ?", (json.dumps(doc), key))
db.commit()
PY
rm -rf "$WORK/cache-d"
expect_exit 0 -- "$KILN" build "$WORK/image/image.yaml" --out "$WORK/out-d" --cache-from "$SHARED" \
  "${KEYS[@]}"
expect_in "$WORK/err" "has no valid signature"
[ "$(cached_layers)" = 1 ] || fail "a tampered layer was used ($(cached_layers) from the caches)"
expect_exit 4 -- "$KILN" store fsck --store "$SHARED" --public-key "$WORK/keys/cache.pub"
expect_in "$WORK/out" "has no valid signature"
# The base's archive loses a chunk: the download fails, naming it, and the base is built.
base_chunk=$(python3 - "$SHARED/index.sqlite" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for (content,) in db.execute("SELECT content FROM documents WHERE key LIKE 'cache/layers/%'"):
    doc = json.loads(content)["layer"]
    if doc["meta"]["step"] == "base":
        print(doc["archive"]["chunks"][3][0])
PY
)
rm "$SHARED/blobs/${base_chunk:0:2}/$base_chunk"
rm -rf "$WORK/cache-d"
expect_exit 0 -- "$KILN" build "$WORK/image/image.yaml" --out "$WORK/out-d" --cache-from "$SHARED" \
  "${KEYS[@]}"
expect_in "$WORK/err" "from the shared cache is not used"
expect_in "$WORK/err" "$base_chunk"
cmp "$WORK/out-a/rootfs.tar.zst" "$WORK/out-d/rootfs.tar.zst" || fail "machine D's image differs"
expect_cache_clean

step "a machine that holds an older layer of a step reads only the chunks that changed"
sed -i 's|^      ln -s ../it/a /opt/it/link$|&\n      echo changed > /opt/it/changed|' "$WORK/image/image.yaml"
export KILN_CACHE_DIR="$WORK/cache-a"
expect_exit 0 -- "$KILN" build "$WORK/image/image.yaml" --out "$WORK/out-a3" --cache-to "$SHARED" \
  "${KEYS[@]}"
expect_in "$WORK/out" "1 layers uploaded to $SHARED"
export KILN_CACHE_DIR="$WORK/cache-b"
expect_exit 0 -- "$KILN" build "$WORK/image/image.yaml" --out "$WORK/out-b3" --cache-from "$SHARED" \
  "${KEYS[@]}"
expect_in "$WORK/out" "1 layers from $SHARED"
read -r at_hand total < <(sed -n 's/.* \([0-9]*\) of \([0-9]*\) chunks were already on this machine/\1 \2/p' \
  "$WORK/out-b3/logs/03-tree.log")
[ -n "$total" ] && [ $((at_hand * 10)) -ge $((total * 8)) ] ||
  fail "machine B found ${at_hand:-no} of ${total:-?} chunks of the changed layer at hand"
cmp "$WORK/out-a3/rootfs.tar.zst" "$WORK/out-b3/rootfs.tar.zst" || fail "machine B's image differs"

step "gc removes the cache's old layers and their chunks"
expect_exit 0 -- "$KILN" gc --store "$SHARED" --keep-younger-than 0s --force
expect_in "$WORK/out" "removed 5 shared cache layers older than the age kept (0 kept)"
expect_exit 0 -- "$KILN" store fsck --store "$SHARED"
expect_in "$WORK/out" "checked 0 chunks"

if [ -n "${KILN_TEST_S3_ENDPOINT:-}" ]; then
  step "the same through S3"
  export KILN_S3_ENDPOINT="$KILN_TEST_S3_ENDPOINT" AWS_ACCESS_KEY_ID=S3RVER
  export AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1
  bucket="s3://kiln-shared-$$/cache"
  aws --endpoint-url "$KILN_TEST_S3_ENDPOINT" s3 mb "s3://kiln-shared-$$" >/dev/null
  export KILN_CACHE_DIR="$WORK/cache-a"
  expect_exit 0 -- "$KILN" build "$WORK/image/image.yaml" --out "$WORK/out-s3a" \
    --cache-to "$bucket" "${KEYS[@]}" --cache-secret-key "$WORK/secret.key"
  expect_in "$WORK/out" "4 layers uploaded to $bucket"
  export KILN_CACHE_DIR="$WORK/cache-s3"
  expect_exit 0 -- "$KILN" build "$WORK/image/image.yaml" --out "$WORK/out-s3" \
    --cache-from "$bucket" "${KEYS[@]}" --cache-secret-key "$WORK/secret.key"
  expect_in "$WORK/out" "4 layers from $bucket"
  cmp "$WORK/out-s3a/rootfs.tar.zst" "$WORK/out-s3/rootfs.tar.zst" || fail "the S3 image differs"
  expect_exit 0 -- "$KILN" store fsck --store "$bucket" --public-key "$WORK/keys/cache.pub"
  expect_in "$WORK/out" "4 shared cache layers: no problems"
  # A cache that cannot be reached costs the shared layers, not the build.
  expect_exit 0 -- env KILN_S3_ENDPOINT=http://127.0.0.1:9 "$KILN" build "$WORK/image/image.yaml" \
    --out "$WORK/out-s3" --cache-from "$bucket" --cache-to "$bucket" "${KEYS[@]}" \
    --cache-secret-key "$WORK/secret.key"
  expect_in "$WORK/err" "kiln: warning: the shared cache $bucket is not used:"
  expect_in "$WORK/err" "kiln: warning: no layer is uploaded to $bucket:"
  expect_in "$WORK/err" "127.0.0.1:9"
fi
echo "PASS"
