#!/usr/bin/env bash
# kiln ci's decisions without building (--dry-run, --show-policy) on real git checkouts: the
# versions per ref, and the bad inputs: an invalid policy, an unknown channel, a dirty tree, a
# tag that does not match the version, a detached HEAD without CI variables, a shallow clone.
. "$(dirname "$0")/lib.sh"
command -v git >/dev/null || skip "git is not installed"

REPO="$WORK/repo"
G() { git -C "$REPO" -c user.email=ci@example.com -c user.name=ci "$@"; }
mkdir -p "$REPO/agent"
git init -q -b main "$REPO"
cat >"$REPO/agent/image.yaml" <<'YAML'
name: agent
version: 1.0.0
base: {bootstrap: {variant: minbase}}
steps:
  - name: hello
    shell: 'echo hello > /etc/hello'
YAML
printf 'store: %s\n' "$WORK/store" >"$REPO/kiln.yaml"
printf '.kiln-ci/\n' >"$REPO/.gitignore"
G add -A && G commit -qm one && G commit -q --allow-empty -m two
ci() { (cd "$REPO" && "$KILN" ci "$@"); }

step "the default policy"
ci --show-policy >"$WORK/policy.out"
expect_in "$WORK/policy.out" "release/*"
expect_in "$WORK/policy.out" "staging"

step "main: a dev version counting the commits since the version changed"
ci --dry-run --json >"$WORK/main.json"
python3 - "$WORK/main.json" "$(G rev-parse --short=12 HEAD)" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
image = d["images"][0]
assert image["version"] == "1.0.0-dev.1+g" + sys.argv[2], image
assert image["channel"] == "dev" and image["publish"], image
PY

step "a release branch: an rc version; a feature branch: nothing published"
ci --dry-run --ref refs/heads/release/1.0 | grep -q "1.0.0-rc.1+g" || fail "no rc version"
ci --dry-run --ref refs/heads/feature/x_y --json >"$WORK/feature.json"
grep -q '"publish": false' "$WORK/feature.json" || fail "a feature branch would publish"

step "a tag that does not match the definition's version is refused"
G tag v2.0.0
code=0; ci --dry-run --ref refs/tags/v2.0.0 >"$WORK/tag.out" 2>&1 || code=$?
[ "$code" = 6 ] || { cat "$WORK/tag.out"; fail "exit code $code for a wrong tag, expected 6"; }
expect_in "$WORK/tag.out" "says 2.0.0 but agent/image.yaml has version: 1.0.0"

step "a dirty tree is not published"
echo x >"$REPO/agent/stray"
code=0; ci --dry-run >"$WORK/dirty.out" 2>&1 || code=$?
[ "$code" = 6 ] || { cat "$WORK/dirty.out"; fail "exit code $code for a dirty tree, expected 6"; }
expect_in "$WORK/dirty.out" "agent/stray"
rm "$REPO/agent/stray"

step "a detached HEAD without CI variables, then with them"
G checkout -q --detach HEAD~1
code=0; env -u BUILD_SOURCEBRANCH -u GITHUB_REF bash -c "cd '$REPO' && '$KILN' ci --dry-run" \
  >"$WORK/detached.out" 2>&1 || code=$?
[ "$code" = 2 ] || { cat "$WORK/detached.out"; fail "exit code $code when detached, expected 2"; }
expect_in "$WORK/detached.out" "HEAD is detached"
(cd "$REPO" && BUILD_SOURCEBRANCH=refs/heads/main "$KILN" ci --dry-run) | grep -q "1.0.0-dev.0+g" ||
  fail "BUILD_SOURCEBRANCH was not used"
G checkout -q main

step "a shallow clone says how to fetch the history"
git clone -q --depth 1 "file://$REPO" "$WORK/shallow"
code=0; (cd "$WORK/shallow" && "$KILN" ci --dry-run) >"$WORK/shallow.out" 2>&1 || code=$?
[ "$code" = 4 ] || { cat "$WORK/shallow.out"; fail "exit code $code for a shallow clone, expected 4"; }
expect_in "$WORK/shallow.out" "fetch-depth: 0"

step "a policy with an invalid pattern or an unknown channel"
printf 'ci:\n  refs:\n    - {branch: "a b", publish: dev}\n' >"$REPO/kiln.yaml"
code=0; ci --dry-run >"$WORK/bad.out" 2>&1 || code=$?
[ "$code" = 2 ] || { cat "$WORK/bad.out"; fail "exit code $code for a bad pattern, expected 2"; }
expect_in "$WORK/bad.out" "kiln.yaml:3:16: invalid ref pattern 'a b'"
printf 'ci:\n  refs:\n    - {branch: main, publish: dev, channel: qa}\n' >"$REPO/kiln.yaml"
code=0; ci --dry-run >"$WORK/chan.out" 2>&1 || code=$?
[ "$code" = 2 ] || { cat "$WORK/chan.out"; fail "exit code $code for a bad channel, expected 2"; }
expect_in "$WORK/chan.out" "unknown channel 'qa'"
echo "PASS"
