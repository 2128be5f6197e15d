#!/usr/bin/env bash
# kiln validate, kiln schema and the command line itself: no root, no network.
. "$(dirname "$0")/lib.sh"

step "validate accepts the example"
expect_exit 0 -- "$KILN" validate "$SOURCE_DIR/examples/linux-agent/image.yaml"
expect_in "$WORK/out" "image.yaml: ok (linux-agent 1.1.0, 6 steps)"

step "validate reports every error with file:line:col and a hint, exit 3"
mkdir -p "$WORK/bad"
cat >"$WORK/bad/image.yaml" <<'YAML'
name: Bad Name
version: 1.0
base: {bootstrap: {variant: minbsae}}
steps:
  - pakages: [git]
  - file: {src: ../outside, dest: /x}
  - artifact: {url: "https://x.invalid/t", sha256: 1234, dest: /t}
YAML
expect_exit 3 -- "$KILN" validate "$WORK/bad/image.yaml"
expect_in "$WORK/err" "$WORK/bad/image.yaml:1:7: error: name 'Bad Name' is not a valid image name"
expect_in "$WORK/err" "$WORK/bad/image.yaml:2:10: error: '1.0' is not a semantic version"
expect_in "$WORK/err" "$WORK/bad/image.yaml:3:29: error: base.bootstrap.variant 'minbsae' is not an mmdebstrap variant"
expect_in "$WORK/err" "hint: did you mean 'minbase'?"
expect_in "$WORK/err" "$WORK/bad/image.yaml:5:5: error: unknown key 'pakages' in step 1"
expect_in "$WORK/err" "$WORK/bad/image.yaml:6:17: error: step 2 (file) src '../outside' is outside the definition's folder"
expect_in "$WORK/err" "step 3 (artifact) sha256 '1234' is not 64 lowercase hex digits"
expect_in "$WORK/err" "6 errors in $WORK/bad/image.yaml"

step "validate --json"
expect_exit 3 -- "$KILN" validate --json "$WORK/bad/image.yaml"
python3 - "$WORK/out" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))
assert result["valid"] is False, result
assert len(result["errors"]) == 6, result
first = result["errors"][0]
assert (first["line"], first["column"]) == (1, 7), first
PY

step "a missing definition file, or a folder, is an input error (exit 4)"
expect_exit 4 -- "$KILN" validate "$WORK/none.yaml"
expect_in "$WORK/err" "cannot read $WORK/none.yaml: No such file or directory"
expect_exit 4 -- "$KILN" build "$WORK/none.yaml"
expect_in "$WORK/err" "is not readable; nothing was built"
expect_exit 4 -- "$KILN" validate "$SOURCE_DIR/examples/linux-agent"
expect_in "$WORK/err" "examples/linux-agent is a folder, not a file"
expect_in "$WORK/err" "hint: give the file itself, e.g. $SOURCE_DIR/examples/linux-agent/image.yaml"

step "build refuses an invalid definition before doing anything"
expect_exit 3 -- "$KILN" build "$WORK/bad/image.yaml" --out "$WORK/bad-out"
expect_in "$WORK/err" "is not valid; nothing was built"
[ ! -e "$WORK/bad-out" ] || fail "build created its output folder for an invalid definition"

step "schema is JSON Schema that accepts the example's keys"
expect_exit 0 -- "$KILN" schema
python3 - "$WORK/out" <<'PY'
import json, sys
schema = json.load(open(sys.argv[1]))
assert schema["$schema"].endswith("2020-12/schema")
assert set(schema["required"]) == {"name", "version", "base", "steps"}
assert "artifact" in schema["$defs"]
PY

step "usage errors exit 2; --help shows examples"
expect_exit 2 -- "$KILN"
expect_exit 2 -- "$KILN" build
expect_exit 2 -- "$KILN" frobnicate
expect_exit 2 -- "$KILN" biuld image.yaml
expect_in "$WORK/err" "kiln: error: 'biuld' is not a kiln command"
expect_in "$WORK/err" "did you mean 'build'?"
expect_exit 2 -- "$KILN" diff "$WORK"
expect_in "$WORK/err" "kiln: error: kiln diff: missing the argument 'b' (The newer image's output folder)"
expect_in "$WORK/err" "Usage: kiln diff"
expect_exit 2 -- "$KILN" test
expect_in "$WORK/err" "kiln: error: kiln test: missing the argument 'out' (A built image's output folder)"
for nested in "key generate" "store fsck" "cache prune"; do
  expect_exit 0 -- "$KILN" $nested --help
  expect_in "$WORK/out" "kiln ${nested}"
  expect_not_in "$WORK/out" "kiln validate examples/linux-agent/image.yaml"
done
for command in build test diff cache publish pull verify promote revoke ls show gc store; do
  expect_exit 0 -- "$KILN" $command --help
  expect_in "$WORK/out" "Examples:"
done
expect_exit 2 -- "$KILN" publish out --store ftp://host/images
expect_in "$WORK/err" "kiln cannot reach the store 'ftp://host/images' yet"
expect_in "$WORK/err" "(file://, s3://)"
(cd "$WORK" && env -u KILN_STORE "$KILN" ls) >"$WORK/out" 2>"$WORK/err" && fail "ls without a store"
expect_in "$WORK/err" "no store given"
expect_exit 0 -- "$KILN" --version

if [ "$(id -u)" = 0 ]; then
  step "kiln test of a folder that does not exist says so"
  expect_exit 4 -- "$KILN" test "$WORK/no-such-out"
  expect_in "$WORK/err" "$WORK/no-such-out is not a folder"
fi

step "commands that read a store never create one at a mistyped location"
for command in "ls" "gc --dry-run" "show agent" "store fsck" "pull agent@1.0.0 --to $WORK/p" \
               "verify agent@1.0.0" "promote agent@1.0.0 --to dev"; do
  expect_exit 4 -- "$KILN" $command --store "$WORK/typo"
  expect_in "$WORK/err" "there is no kiln store at $WORK/typo"
  [ ! -e "$WORK/typo" ] || fail "kiln $command created $WORK/typo"
done
expect_exit 0 -- "$KILN" store init --store "$WORK/new-store"
expect_in "$WORK/out" "a kiln store is ready at $WORK/new-store"
expect_exit 0 -- "$KILN" ls --store "$WORK/new-store"
expect_exit 0 -- "$KILN" store init --store "$WORK/new-store"

step "kiln key generate writes a key pair once"
expect_exit 0 -- "$KILN" key generate --dir "$WORK/keys" --json
python3 -c 'import json,sys; k=json.load(open(sys.argv[1])); assert k["fingerprint"].startswith("ed25519:"), k' "$WORK/out"
[ "$(stat -c %a "$WORK/keys/kiln-signing.key")" = 600 ] || fail "the private key is not mode 0600"
grep -q "BEGIN PUBLIC KEY" "$WORK/keys/kiln-signing.pub" || fail "no public key"
expect_exit 2 -- "$KILN" key generate --dir "$WORK/keys"
expect_in "$WORK/err" "already exists"

step "kiln config show: every setting, its value and where it came from, in layers"
mkdir -p "$WORK/cfg/etc" "$WORK/cfg/home/kiln" "$WORK/cfg/repo"
echo "store: /srv/system-store" >"$WORK/cfg/etc/kiln.yaml"
printf 'cache: {max_age: 3d}\nsigning: {public_key: user.pub}\n' >"$WORK/cfg/home/kiln/kiln.yaml"
echo "store: repo-store" >"$WORK/cfg/repo/kiln.yaml"
cfg() { (cd "$WORK/cfg/repo" && env KILN_SYSTEM_CONFIG="$WORK/cfg/etc/kiln.yaml" \
  XDG_CONFIG_HOME="$WORK/cfg/home" "$@"); }
expect_exit 0 -- cfg "$KILN" config show
expect_in "$WORK/out" "$WORK/cfg/repo/repo-store"
expect_in "$WORK/out" "(repository file $WORK/cfg/repo/kiln.yaml)"
expect_in "$WORK/out" "(user file $WORK/cfg/home/kiln/kiln.yaml)"
expect_in "$WORK/out" "read $WORK/cfg/etc/kiln.yaml"
expect_exit 0 -- cfg env KILN_STORE=/srv/env-store "$KILN" config show --json
python3 - "$WORK/out" <<'PY'
import json, sys
shown = {s["key"]: s for s in json.load(open(sys.argv[1]))["settings"]}
assert shown["store"]["value"] == "/srv/env-store" and shown["store"]["where"] == "KILN_STORE", shown["store"]
assert shown["cache.max_age"]["value"] == "3d" and shown["cache.max_age"]["origin"] == "user file"
assert shown["channels"]["origin"] == "built-in"
PY
expect_exit 2 -- cfg env KILN_MAX_AGE=often "$KILN" cache ls --cache-dir "$WORK/cfg/cache"
expect_in "$WORK/err" "KILN_MAX_AGE 'often' is not a duration"
echo "stor: typo" >"$WORK/cfg/repo/kiln.yaml"
expect_exit 2 -- cfg "$KILN" config show
expect_in "$WORK/err" "kiln.yaml:1: unknown key 'stor' in kiln.yaml"

step "a definition that is not a regular file, or too large, is refused at once (exit 4)"
expect_exit 4 -- timeout 10 "$KILN" validate /dev/zero
expect_in "$WORK/err" "is not a regular file"
mkfifo "$WORK/fifo"
expect_exit 4 -- timeout 10 "$KILN" validate "$WORK/fifo"
expect_in "$WORK/err" "is not a regular file"
{ echo "name: big"; head -c 3000000 /dev/zero | tr '\0' '#'; echo; } >"$WORK/big.yaml"
expect_exit 4 -- timeout 10 "$KILN" validate "$WORK/big.yaml"
expect_in "$WORK/err" "the most a definition may be"

if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  step "build as a normal user says it needs root, exit 5"
  chmod 755 "$WORK"
  expect_exit 5 -- setpriv --reuid=65534 --regid=65534 --clear-groups \
    env HOME="$WORK" "$KILN" build "$SOURCE_DIR/examples/linux-agent/image.yaml" --out "$WORK/user-out"
  expect_in "$WORK/err" "kiln: error: kiln build needs root"
  expect_in "$WORK/err" "hint: run it as root"
fi
echo "PASS"
