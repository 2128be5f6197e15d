#!/usr/bin/env bash
# File times the way users publish: a definition in git, no SOURCE_DATE_EPOCH, one commit after
# another. The image takes its base layer's epoch, so a new commit that reuses the base exports
# every file with the time it had before (the versions then share their chunks). A base built
# now takes the time of the commit that last changed `base:`, so a clean bake of a new commit
# that leaves the base alone gives the same times too.
. "$(dirname "$0")/lib.sh"
require_root
require_mirror
unset SOURCE_DATE_EPOCH

GIT="$WORK/git"
mkdir -p "$GIT"
cat >"$GIT/image.yaml" <<'YAML'
name: epoch-it
version: 0.1.0
base: {bootstrap: {variant: minbase}}
steps:
  - name: user
    shell: 'useradd --uid 1600 --create-home builder'
  - name: marker
    shell: 'echo one > /etc/marker'
YAML
commit_at() { # commit_at DATE: commits the definition with that date
  (cd "$GIT" && git add -A && GIT_AUTHOR_DATE="$1" GIT_COMMITTER_DATE="$1" \
    git -c user.name=kiln-it -c user.email=kiln-it@localhost commit -qm "at $1")
}
# mtimes OUT: "name mtime" for every entry of OUT's tar.
mtimes() {
  zstd -qdc "$1/rootfs.tar.zst" | python3 -c 'import sys, tarfile
with tarfile.open(fileobj=sys.stdin.buffer, mode="r|") as tar:
    for m in tar:
        print(m.name, m.mtime)'
}
epoch_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["source_date_epoch"])' "$1/manifest.json"; }

git -C "$GIT" init -q
commit_at "2026-11-02T09:00:00Z"
first=$(git -C "$GIT" log -1 --format=%ct)

step "the first commit: the image's epoch is the commit's time"
expect_exit 0 -- "$KILN" build "$GIT/image.yaml" --out "$WORK/c1"
[ "$(epoch_of "$WORK/c1")" = "$first" ] || fail "epoch $(epoch_of "$WORK/c1"), expected $first"

step "the next commit, a day later, edits the last step: every file keeps its time"
sed -i 's/echo one/echo two/' "$GIT/image.yaml"
commit_at "2026-11-03T09:00:00Z"
second=$(git -C "$GIT" log -1 --format=%ct)
expect_exit 0 -- "$KILN" build "$GIT/image.yaml" --out "$WORK/c2"
expect_in "$WORK/out" "(2 of 3 layers from the cache)"
[ "$(epoch_of "$WORK/c2")" = "$first" ] || fail "the base's epoch was not kept: $(epoch_of "$WORK/c2")"
mtimes "$WORK/c1" >"$WORK/c1.times"
mtimes "$WORK/c2" >"$WORK/c2.times"
diff "$WORK/c1.times" "$WORK/c2.times" || fail "file times changed with the commit"
grep -q "^etc/marker $first$" "$WORK/c2.times" || fail "the rebuilt step's file should have the base's time"

step "a clean bake of the new commit keeps the base's commit time; a given SOURCE_DATE_EPOCH wins"
expect_exit 0 -- env KILN_CACHE_DIR="$WORK/clean-cache" "$KILN" build "$GIT/image.yaml" --out "$WORK/c2-clean"
[ "$(epoch_of "$WORK/c2-clean")" = "$first" ] || fail "a clean bake should take the base's commit time"
mtimes "$WORK/c2-clean" >"$WORK/c2-clean.times"
diff "$WORK/c2.times" "$WORK/c2-clean.times" || fail "a clean bake gave other file times"
expect_exit 0 -- env SOURCE_DATE_EPOCH=1700000000 "$KILN" build "$GIT/image.yaml" --out "$WORK/c2-given"
[ "$(epoch_of "$WORK/c2-given")" = 1700000000 ] || fail "SOURCE_DATE_EPOCH was not used"
expect_exit 2 -- env SOURCE_DATE_EPOCH=yesterday "$KILN" build "$GIT/image.yaml" --out "$WORK/bad"
expect_in "$WORK/err" "SOURCE_DATE_EPOCH 'yesterday' is not a number of seconds"
expect_exit 0 -- "$KILN" diff "$WORK/c1" "$WORK/c2"
expect_not_in "$WORK/out" "etc/shadow"

step "a commit that changes the base moves the epoch to its time"
sed -i 's/variant: minbase}/variant: minbase, packages: [less]}/' "$GIT/image.yaml"
commit_at "2026-11-03T12:00:00Z"
moved=$(git -C "$GIT" log -1 --format=%ct)
expect_exit 0 -- env KILN_CACHE_DIR="$WORK/base-cache" "$KILN" build "$GIT/image.yaml" --out "$WORK/c2-base"
[ "$(epoch_of "$WORK/c2-base")" = "$moved" ] || fail "a changed base should take its commit's time"
sed -i 's/, packages: \[less\]}/}/' "$GIT/image.yaml"
commit_at "2026-11-03T15:00:00Z"
second=$(git -C "$GIT" log -1 --format=%ct)

step "a base cached before kiln kept its epoch takes the base's commit time, then keeps it"
base_meta=$(grep -l '"step": "base"' "$KILN_CACHE_DIR"/layers/*/meta.json | awk 'NR == 1')
python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); m.pop("source_date_epoch"); json.dump(m, open(sys.argv[1], "w"))' "$base_meta"
sed -i 's/echo two/echo three/' "$GIT/image.yaml"
commit_at "2026-11-04T09:00:00Z"
expect_exit 0 -- "$KILN" build "$GIT/image.yaml" --out "$WORK/c3"
[ "$(epoch_of "$WORK/c3")" = "$second" ] || fail "the old base should take its commit's time"
sed -i 's/echo three/echo four/' "$GIT/image.yaml"
commit_at "2026-11-05T09:00:00Z"
expect_exit 0 -- "$KILN" build "$GIT/image.yaml" --out "$WORK/c4"
[ "$(epoch_of "$WORK/c4")" = "$second" ] || fail "the epoch recorded in the old base was not kept"
grep -q "\"source_date_epoch\": $second" "$base_meta" || fail "the old base's epoch was not recorded"
expect_cache_clean
echo "PASS"
