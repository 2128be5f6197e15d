#!/usr/bin/env bash
# The layer cache as a user meets it: what is cached and why not, the same bytes whether cached
# or not, --refresh and --max-age, a damaged layer rebuilt, prune sparing what a build uses, and
# two builds at once on one cache.
. "$(dirname "$0")/lib.sh"
require_root
require_mirror

DEF="$WORK/def"
mkdir -p "$DEF/files"
echo "export A=1" >"$DEF/files/env.sh"
cat >"$DEF/image.yaml" <<'YAML'
name: cache-it
version: 0.1.0
base: {bootstrap: {variant: minbase}}
steps:
  - name: tools
    packages: [jq]
  - name: user
    shell: 'useradd --uid 1500 builder'
  - name: env
    file: {src: files/env.sh, dest: /etc/profile.d/env.sh, mode: "0644"}
YAML
export SOURCE_DATE_EPOCH=1700000000

# explain_line STEP: the --explain line of STEP from $WORK/out.
explain_line() { grep -E "^(hit|miss) +$1 " "$WORK/out" || fail "no --explain line for $1"; }

step "cold bake: nothing cached"
expect_exit 0 -- "$KILN" build "$DEF/image.yaml" --explain
explain_line base | grep -q "^miss .*not built before" || fail "base should miss: not built before"
for s in tools user env; do
  explain_line "$s" | grep -q "^miss .*a layer below it will be rebuilt" || fail "$s should miss"
done
expect_exit 0 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/a" --json
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert (r["cached_layers"], r["built_layers"]) == (0, 4), r' "$WORK/out"

step "no change: every layer and the export come from the cache, same bytes"
expect_exit 0 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/b"
expect_in "$WORK/out" "(4 of 4 layers from the cache)"
expect_in "$WORK/err" "[3/7] tools (packages) cached"
expect_in "$WORK/err" "[7/7] export cached"
cmp "$WORK/a/rootfs.tar.zst" "$WORK/b/rootfs.tar.zst" || fail "a cached bake differs from the cold one"
# The same image, with other logs and timings: publishing it again is a no-op.
expect_exit 0 -- "$KILN" publish "$WORK/a" --store "$WORK/store"
expect_exit 0 -- "$KILN" publish "$WORK/b" --store "$WORK/store"
expect_in "$WORK/out" "cache-it@0.1.0 is already published with the same content; nothing changed"

step "the YAML's spelling does not matter: key order, comments, flow style, names"
cat >"$DEF/image.yaml" <<'YAML'
# The same image, written differently.
version: 0.1.0
name: cache-it
steps:
  - packages:
      - jq            # one package
    name: tools
  - {shell: 'useradd --uid 1500 builder', name: add-user}
  - file:
      mode: "0644"
      dest: /etc/profile.d/env.sh
      src: files/env.sh
    name: env
base:
  bootstrap:
    variant: minbase
YAML
expect_exit 0 -- "$KILN" build "$DEF/image.yaml" --explain
expect_in "$WORK/out" "4 of 4 layers cached"

step "editing a file a step copies rebuilds that step only, and --explain says why"
echo "export A=2" >"$DEF/files/env.sh"
expect_exit 0 -- "$KILN" build "$DEF/image.yaml" --explain
explain_line env | grep -q "^miss .*files/env.sh changed" || fail "env should miss: files/env.sh changed"
explain_line tools | grep -q "^hit" || fail "tools should hit"
expect_exit 0 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/c"
expect_in "$WORK/err" "env (file) done in"
expect_in "$WORK/err" "(files/env.sh changed)"
expect_in "$WORK/out" "(3 of 4 layers from the cache)"
zstd -dc "$WORK/c/rootfs.tar.zst" | tar -xOf - etc/profile.d/env.sh | grep "A=2" >/dev/null || fail "the new file is not in the image"
echo "export A=1" >"$DEF/files/env.sh"
expect_exit 0 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/d"
cmp "$WORK/a/rootfs.tar.zst" "$WORK/d/rootfs.tar.zst" || fail "reverting the edit does not give the first image"

step "--refresh STEP rebuilds from that step on; --max-age rebuilds base and package layers"
expect_exit 0 -- "$KILN" build "$DEF/image.yaml" --explain --refresh add-user
explain_line tools | grep -q "^hit" || fail "tools should hit"
explain_line add-user | grep -q "^miss .*--refresh" || fail "add-user should miss for --refresh"
explain_line env | grep -q "^miss .*a layer below it will be rebuilt" || fail "env should follow"
expect_exit 2 -- "$KILN" build "$DEF/image.yaml" --refresh nope
expect_in "$WORK/err" "--refresh names no step: 'nope'"
expect_exit 0 -- "$KILN" build "$DEF/image.yaml" --explain --refresh all
expect_in "$WORK/out" "0 of 4 layers cached"
sleep 1.1
expect_exit 0 -- "$KILN" build "$DEF/image.yaml" --explain --max-age 1s
explain_line base | grep -q "^miss .*older than the maximum age" || fail "base should be too old"

step "--refresh STEP with requirements: the layers below STEP stay cached"
mkdir -p "$WORK/req"
cat >"$WORK/req/image.yaml" <<'YAML'
name: cache-req
version: 0.1.0
base: {bootstrap: {variant: minbase}}
requirements: {network: {proxy: "http://proxy.example:3128"}}
steps:
  - name: first
    shell: 'echo one > /etc/one'
  - name: second
    shell: 'echo two > /etc/two'
YAML
expect_exit 0 -- "$KILN" build "$WORK/req/image.yaml" --out "$WORK/req/out"
expect_exit 0 -- "$KILN" build "$WORK/req/image.yaml" --explain --refresh second
explain_line requirements | grep -q "^hit" || fail "requirements should stay cached"
explain_line first | grep -q "^hit" || fail "first should stay cached with --refresh second"
explain_line second | grep -q "^miss .*--refresh" || fail "second should miss for --refresh"

step "a damaged layer is detected, reported and built again"
tools_key=$(grep -l '"step": "tools"' "$KILN_CACHE_DIR"/layers/*/meta.json | awk 'NR == 1' | xargs dirname)
victim=$(find "$tools_key/tree/usr/bin" -name jq -type f | awk 'NR == 1')
[ -n "$victim" ] || fail "jq not found in the tools layer"
truncate -s 10 "$victim"
rm -rf "$KILN_CACHE_DIR"/exports/*
expect_exit 0 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/e"
expect_in "$WORK/err" "is damaged (its content no longer matches its digest); building it again"
cmp "$WORK/a/rootfs.tar.zst" "$WORK/e/rootfs.tar.zst" || fail "the rebuilt layer gives another image"

step "kiln cache ls and prune; an entry a build holds is never pruned"
expect_exit 0 -- "$KILN" cache ls
expect_in "$WORK/out" "cache-it"
expect_in "$WORK/out" "test results, tool versions, file digests"
expect_exit 0 -- "$KILN" cache ls --json
base_key=$(python3 -c 'import json,sys; print([e["key"] for e in json.load(open(sys.argv[1])) if e["step"]=="base"][0])' "$WORK/out")
flock -s "$KILN_CACHE_DIR/locks/$base_key.lock" sleep 30 &
holder=$!
sleep 0.5
expect_exit 0 -- "$KILN" cache prune --max-size 1 --dry-run
expect_in "$WORK/out" "kept layer cache-it/base: in use by a running build"
[ -d "$KILN_CACHE_DIR/layers/$base_key" ] || fail "--dry-run removed something"
expect_exit 0 -- "$KILN" cache prune --max-size 1
[ -d "$KILN_CACHE_DIR/layers/$base_key" ] || fail "prune removed a layer in use"
kill "$holder"; wait "$holder" 2>/dev/null || true
[ "$(ls "$KILN_CACHE_DIR/layers" | wc -l)" = 1 ] || fail "prune left more than the layer in use"
[ ! -e "$KILN_CACHE_DIR/digests.json" ] || fail "prune left the file digests"
[ -z "$(ls -A "$KILN_CACHE_DIR/answers" 2>/dev/null)" ] || fail "prune left remembered answers"
expect_exit 2 -- "$KILN" cache prune --max-size lots
expect_in "$WORK/err" "--max-size 'lots' is not a size"

step "two builds at once on one cache"
"$KILN" build "$DEF/image.yaml" --out "$WORK/p1" >"$WORK/p1.log" 2>&1 &
first=$!
"$KILN" build "$DEF/image.yaml" --out "$WORK/p2" >"$WORK/p2.log" 2>&1 || { cat "$WORK/p2.log"; fail "second parallel build failed"; }
wait "$first" || { cat "$WORK/p1.log"; fail "first parallel build failed"; }
cmp "$WORK/p1/rootfs.tar.zst" "$WORK/p2/rootfs.tar.zst" || fail "parallel builds differ"
cmp "$WORK/a/rootfs.tar.zst" "$WORK/p1/rootfs.tar.zst" || fail "parallel builds differ from the first"
expect_cache_clean
echo "PASS"
