#!/usr/bin/env bash
# The artifact store through the kiln binary, on output folders made here (a tar of random
# files, compressed the way kiln build compresses rootfs tars): publish, pull, channels, revoke,
# verify, gc, fsck; two publishers at once; publishes killed with SIGKILL. No root, no network.
# The same script runs on each backend: KILN_TEST_STORE_BACKEND=local (a folder, the default) or
# s3 (the s3rver scripts/test.sh starts: integration.store_s3).
. "$(dirname "$0")/lib.sh"
command -v zstd >/dev/null || skip "zstd is not installed"

BACKEND=${KILN_TEST_STORE_BACKEND:-local}
# store_at NAME: the location of a store of this backend.
if [ "$BACKEND" = s3 ]; then
  [ -n "${KILN_TEST_S3_ENDPOINT:-}" ] || skip "no S3 test server (scripts/test.sh starts one)"
  export KILN_S3_ENDPOINT="$KILN_TEST_S3_ENDPOINT" AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
  export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
  S3_RUN=$(basename "$WORK")
  store_at() { echo "s3://kiln/$S3_RUN/$1"; }
  S3_FILES="$KILN_TEST_S3_DATA/kiln/$S3_RUN/store" # where s3rver keeps the store's objects
else
  store_at() { echo "$WORK/$1"; }
fi
export KILN_STORE="$(store_at store)"

. "$(dirname "$0")/store_lib.sh"

make_tree "$WORK/tree1" 24 one
make_out "$WORK/out1" 1.0.0 "$WORK/tree1"
cp -a "$WORK/tree1" "$WORK/tree2"
make_tree "$WORK/tree2/usr/share/new-package" 1 package
make_out "$WORK/out2" 1.1.0 "$WORK/tree2"
expect_exit 0 -- "$KILN" key generate --dir "$WORK" --name release
expect_exit 0 -- "$KILN" key generate --dir "$WORK" --name stranger

step "publish stores the chunks, signs the version; a second version stores only what changed"
expect_exit 0 -- "$KILN" publish "$WORK/out1" --key "$WORK/release.key" --json
cp "$WORK/out" "$WORK/p1.json"
[ "$(json_field "$WORK/p1.json" "d['new_chunks'] == d['chunks']")" = True ] || { cat "$WORK/p1.json"; fail "first publish"; }
expect_exit 0 -- "$KILN" publish "$WORK/out2" --key "$WORK/release.key" --json
cp "$WORK/out" "$WORK/p2.json"
ratio=$(python3 -c "import json; a=json.load(open('$WORK/p1.json')); b=json.load(open('$WORK/p2.json')); print(b['stored_bytes']/a['stored_bytes'])")
echo "second version stored $ratio of the first's bytes"
python3 -c "import sys; sys.exit(0 if $ratio < 0.08 else 1)" || fail "the second version stored too much: $ratio"

step "publishing a version again: a no-op when identical, refused (exit 6) when not"
expect_exit 0 -- "$KILN" publish "$WORK/out1"
expect_in "$WORK/out" "agent@1.0.0 is already published with the same content"
make_tree "$WORK/tree3" 2 three
make_out "$WORK/out3" 1.0.0 "$WORK/tree3"
expect_exit 6 -- "$KILN" publish "$WORK/out3"
expect_in "$WORK/err" "agent@1.0.0 is already published, with other content"

step "pull by range gives the output folder back byte for byte, signature checked"
expect_exit 0 -- "$KILN" pull 'agent@^1' --to "$WORK/pulled" --public-key "$WORK/release.pub"
expect_in "$WORK/out" "pulled agent@1.1.0 (range ^1)"
expect_in "$WORK/out" "signature valid, by ed25519:"
diff -r "$WORK/out2" "$WORK/pulled" || fail "the pulled folder differs"
expect_exit 2 -- "$KILN" pull agent@1.1.0 --to "$WORK/pulled"
expect_in "$WORK/err" "is not empty"
expect_exit 4 -- "$KILN" pull agent@1.1.0 --to "$WORK/p-stranger" --public-key "$WORK/stranger.pub"
expect_in "$WORK/err" "has no valid signature by"
[ ! -e "$WORK/p-stranger" ] || fail "a refused pull left a folder"
expect_exit 4 -- "$KILN" pull agent@1.1.0 --to "$WORK/p-swapped" --public-key "$WORK/release.key"
expect_in "$WORK/err" "release.key is a private key, not a public key"
expect_exit 4 -- "$KILN" pull nope@prod --to "$WORK/p-nope"
expect_in "$WORK/err" "the store has no image named 'nope'"
expect_exit 2 -- "$KILN" pull agent --to "$WORK/x"
expect_exit 4 -- "$KILN" pull agent@7.0.0 --to "$WORK/x"
expect_in "$WORK/err" "agent@7.0.0 is not published"

step "channels follow their rules, every move is in the audit log"
expect_exit 6 -- "$KILN" promote agent@1.0.0 --to prod
expect_in "$WORK/err" "'prod' takes only versions that were in 'staging' before"
expect_exit 0 -- "$KILN" promote agent@1.0.0 --to staging
expect_exit 0 -- "$KILN" promote agent@1.0.0 --to prod
expect_exit 0 -- "$KILN" promote agent@1.1.0 --to staging
expect_exit 2 -- "$KILN" promote agent@1.1.0 --to qa
expect_in "$WORK/err" "the channels are: dev, staging, prod"
expect_exit 0 -- "$KILN" promote agent@1.1.0 --to staging
expect_in "$WORK/out" "agent: staging already points at 1.1.0; nothing changed"
expect_exit 0 -- "$KILN" show agent
expect_in "$WORK/out" "staging -> 1.1.0 (was 1.0.0)"
expect_in "$WORK/out" "prod -> 1.0.0 (was nothing)"
# Channels in promotion order, not alphabetically (prod < staging).
[ "$(grep -E '^    (staging|prod) ' "$WORK/out" | awk '{print $1}' | tr '\n' ' ')" = "staging prod " ] ||
  fail "show lists channels out of promotion order"
expect_exit 0 -- "$KILN" ls
expect_in "$WORK/out" "staging=1.1.0 prod=1.0.0"
expect_exit 0 -- "$KILN" show agent --json
[ "$(json_field "$WORK/out" "d['channels']['prod']")" = 1.0.0 ] || fail "prod"
[ "$(json_field "$WORK/out" "d['history'][2]['previous']")" = 1.0.0 ] || fail "history"
[ "$(json_field "$WORK/out" "len(d['history'])")" = 3 ] || fail "a promotion that moved nothing was logged"
expect_exit 0 -- "$KILN" pull agent@prod --to "$WORK/prod"
diff -r "$WORK/out1" "$WORK/prod" -x .kiln.lock || fail "prod differs"
expect_exit 0 -- "$KILN" ls
expect_in "$WORK/out" "agent"
expect_exit 0 -- "$KILN" ls agent --json
[ "$(json_field "$WORK/out" "d[0]['version']")" = 1.1.0 ] || fail "ls: newest first"

step "custom channels from kiln.yaml"
mkdir -p "$WORK/project"
cat >"$WORK/project/kiln.yaml" <<YAML
store: $KILN_STORE
channels:
  - name: canary
  - name: fleet
    requires: {been_in: [canary]}
YAML
(cd "$WORK/project" && env -u KILN_STORE "$KILN" promote agent@1.1.0 --to fleet) \
  >"$WORK/out" 2>"$WORK/err" && fail "fleet before canary"
expect_in "$WORK/err" "'fleet' takes only versions that were in 'canary' before"
(cd "$WORK/project" && env -u KILN_STORE "$KILN" promote agent@1.1.0 --to canary && \
  env -u KILN_STORE "$KILN" promote agent@1.1.0 --to fleet) >/dev/null || fail "canary, fleet"

step "a failed test keeps a version out of staging"
make_out "$WORK/out4" 1.2.0 "$WORK/tree3" 1
expect_exit 0 -- "$KILN" publish "$WORK/out4"
expect_exit 6 -- "$KILN" promote agent@1.2.0 --to staging
expect_in "$WORK/err" "1 of its 4 tests failed"

step "verify says what it checked"
expect_exit 0 -- "$KILN" verify agent@prod --public-key "$WORK/release.pub"
expect_in "$WORK/out" "ok       signature of the version by ed25519:"
expect_in "$WORK/out" "ok       provenance (in-toto Statement v1, SLSA Provenance v1), signed by the same key"
expect_exit 4 -- "$KILN" verify agent@1.2.0 --public-key "$WORK/release.pub"
expect_in "$WORK/err" "agent@1.2.0 is not signed"

step "revoke: pull refuses it unless forced, ranges skip it, channels on it are reported"
expect_exit 0 -- "$KILN" revoke agent@1.0.0 --reason "CVE in openssl"
expect_in "$WORK/out" "warning: channel prod still points at it"
expect_exit 6 -- "$KILN" pull agent@prod --to "$WORK/revoked"
expect_in "$WORK/err" "agent@1.0.0 (channel prod) is revoked: CVE in openssl"
expect_exit 0 -- "$KILN" pull agent@prod --to "$WORK/revoked" --force
expect_in "$WORK/out" "warning: this version is revoked"
expect_exit 4 -- "$KILN" pull 'agent@~1.0' --to "$WORK/none"
expect_in "$WORK/err" "no published, unrevoked version of agent is in ~1.0"
expect_exit 0 -- "$KILN" show agent@1.0.0
expect_in "$WORK/out" "REVOKED     CVE in openssl"
expect_exit 2 -- "$KILN" revoke agent@1.1.0

step "a flipped byte in a chunk is caught by fsck and by pull, and named"
expect_exit 0 -- "$KILN" store fsck
expect_in "$WORK/out" "no problems"
# A chunk of agent@1.1.0 (the first in path order may belong to another version only), and the
# file and offset of its bytes: "DIGEST FILE OFFSET".
if [ "$BACKEND" = s3 ]; then
  read -r digest blob offset < <(python3 - "$S3_FILES" <<'PY'
import glob, json, os, re, sys
root = sys.argv[1]
doc = open(os.path.join(root, "documents/images/agent/versions/1.1.0._S3rver_object")).read()
mine = set(re.findall(r'[0-9a-f]{64}', doc))
for index in sorted(glob.glob(os.path.join(root, "index/*._S3rver_object"))):
    for pack, entries in json.load(open(index))["packs"].items():
        for digest, offset, length in sorted(entries):
            if digest in mine and length > 1024:
                print(digest, os.path.join(root, "packs", pack[:2], pack + "._S3rver_object"),
                      offset + length // 2)
                sys.exit(0)
PY
)
else
  digest=$(python3 - "$WORK/store/index.sqlite" <<'PY'
import re, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
(doc,) = db.execute("SELECT content FROM documents WHERE key = 'images/agent/versions/1.1.0'").fetchone()
sizes = dict(db.execute("SELECT digest, size FROM blobs"))
print(sorted(d for d in set(re.findall(r'[0-9a-f]{64}', doc)) if sizes.get(d, 0) > 1024)[0])
PY
  )
  blob="$WORK/store/blobs/${digest:0:2}/$digest"
  offset=$(( $(stat -c %s "$blob") / 2 ))
fi
[ -f "$blob" ] || fail "no file holds chunk $digest"
cp "$blob" "$WORK/blob.bak"
python3 - "$blob" "$offset" <<'PY'
import sys
data = bytearray(open(sys.argv[1], 'rb').read())
data[int(sys.argv[2])] ^= 0x01
open(sys.argv[1], 'wb').write(data)
PY
expect_exit 4 -- "$KILN" store fsck
expect_in "$WORK/out" "problem: blob $digest is damaged"
expect_exit 4 -- "$KILN" verify agent@1.1.0
expect_exit 4 -- "$KILN" pull agent@1.1.0 --to "$WORK/damaged"
expect_in "$WORK/err" "(blob $digest) is damaged"
[ ! -e "$WORK/damaged" ] || fail "a failed pull left a folder"
cp "$WORK/blob.bak" "$blob"
expect_exit 0 -- "$KILN" store fsck

step "gc keeps channels and the newest, removes the rest and their chunks"
# 1.0.0 is revoked but prod still points at it; 1.1.0 is in staging; 1.2.0 is in no channel.
expect_exit 0 -- "$KILN" gc --keep-newest 0 --keep-younger-than 0s --dry-run
expect_in "$WORK/out" "would remove 1 versions (2 kept)"
expect_exit 0 -- "$KILN" gc --keep-newest 0 --keep-younger-than 0s --json
[ "$(json_field "$WORK/out" "d['versions']")" = "['agent@1.2.0']" ] ||
  { cat "$WORK/out"; fail "gc removed the wrong versions"; }
# 1.2.0 holds two MiB of random files, which no other version shares and zstd cannot shrink.
[ "$(json_field "$WORK/out" "d['chunk_bytes'] >= 2 << 20")" = True ] ||
  { cat "$WORK/out"; fail "gc did not count the bytes it freed"; }
expect_exit 0 -- "$KILN" store fsck
expect_exit 0 -- "$KILN" pull agent@1.1.0 --to "$WORK/after-gc"

step "two publishers at once"
make_tree "$WORK/treeA" 8 A
make_tree "$WORK/treeB" 8 B
make_out "$WORK/outA" 2.0.0 "$WORK/treeA"
make_out "$WORK/outB" 2.1.0 "$WORK/treeB"
make_out "$WORK/outB2" 2.1.0 "$WORK/treeA"
"$KILN" publish "$WORK/outA" >"$WORK/a.log" 2>&1 & a=$!
"$KILN" publish "$WORK/outB" >"$WORK/b.log" 2>&1 & b=$!
wait $a || fail "publisher A: $(cat "$WORK/a.log")"
wait $b || fail "publisher B: $(cat "$WORK/b.log")"
"$KILN" publish "$WORK/outB" >"$WORK/b.log" 2>&1 & b=$!
"$KILN" publish "$WORK/outB2" >"$WORK/b2.log" 2>&1 & b2=$!
rc_b=0; wait $b || rc_b=$?
rc_b2=0; wait $b2 || rc_b2=$?
# outB was published already: it is a no-op; outB2 is the same version with other content.
[ "$rc_b" = 0 ] && [ "$rc_b2" = 6 ] || fail "same version at once: exits $rc_b and $rc_b2"
expect_exit 0 -- "$KILN" store fsck
expect_exit 0 -- "$KILN" verify agent@2.1.0
expect_exit 0 -- "$KILN" verify agent@2.0.0

step "Ctrl-C stops a publish cleanly: exit 130, no version"
make_tree "$WORK/treeI" 64 I
make_out "$WORK/outI" 4.0.0 "$WORK/treeI"
"$KILN" publish "$WORK/outI" >"$WORK/int.log" 2>&1 & pid=$!
sleep 0.15
kill -INT $pid
rc=0; wait $pid || rc=$?
echo "publish after SIGINT: exit $rc"
case $rc in
  130) expect_in "$WORK/int.log" "interrupted"
       expect_exit 4 -- "$KILN" show agent@4.0.0 ;;
  0) expect_exit 0 -- "$KILN" verify agent@4.0.0 ;; # it finished first
  *) cat "$WORK/int.log"; fail "publish after SIGINT exited $rc" ;;
esac
expect_exit 0 -- "$KILN" store fsck

step "publishes killed with SIGKILL at random points leave no half version"
export KILN_STORE="$(store_at killed)"
"$KILN" publish "$WORK/outA" >/dev/null
start=$(date +%s%N)
make_tree "$WORK/treeK" 48 K
make_out "$WORK/outK0" 3.0.0 "$WORK/treeK"
t0=$(date +%s%N)
"$KILN" publish "$WORK/outK0" >/dev/null
duration_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "a publish takes ${duration_ms} ms here"
before=0 after=0 litter=0
for i in $(seq 1 20); do
  echo "iteration-$i" >"$WORK/treeK/iteration"
  make_tree "$WORK/treeK/new-$i" 4 "K$i"
  make_out "$WORK/outK" "3.0.$i" "$WORK/treeK"
  "$KILN" publish "$WORK/outK" >/dev/null 2>&1 & pid=$!
  delay=$(( RANDOM % (duration_ms * 13 / 10 + 1) )) # now and then after it finished
  sleep "$(awk "BEGIN {print $delay / 1000}")"
  kill -KILL $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  # Either the version is there whole, or it is not there at all.
  if "$KILN" ls agent --json | grep "\"3.0.$i\"" >/dev/null; then
    "$KILN" verify "agent@3.0.$i" >/dev/null || fail "iteration $i: a visible version is broken"
    after=$((after + 1))
  else
    before=$((before + 1))
  fi
  "$KILN" store fsck >"$WORK/fsck.log" || { cat "$WORK/fsck.log"; fail "iteration $i: fsck"; }
  grep -q "note: .* that no index lists" "$WORK/fsck.log" && litter=$((litter + 1))
  "$KILN" publish "$WORK/outK" >/dev/null || fail "iteration $i: publishing again failed"
  "$KILN" verify "agent@3.0.$i" >/dev/null || fail "iteration $i: verify after the retry"
done
expect_exit 0 -- "$KILN" gc --keep-newest 100
expect_exit 0 -- "$KILN" store fsck --json
[ "$(json_field "$WORK/out" "d['notes']")" = "[]" ] || fail "gc left litter"
echo "killed before the version was visible: $before, after: $after; litter left: $litter times"
echo "kill test: $(( ($(date +%s%N) - start) / 1000000000 )) s"
[ "$before" -ge 1 ] || fail "no kill landed before the version was visible; the test proves nothing"
