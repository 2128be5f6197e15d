#!/usr/bin/env bash
# kiln ci end to end, as a CI server runs it: an images repository pushed to a bare "upstream"
# served by git daemon on 127.0.0.1, whose post-receive hook runs `kiln ci` for each pushed ref
# in a fresh clone of it, detached at the pushed commit with the ref in BUILD_SOURCEBRANCH, as
# an Azure Pipelines agent checks out. Pushed in turn: a feature branch (built and tested,
# nothing published), main (a dev version, channel dev), a release branch (an rc version,
# staging), a tag (the release; prod only after kiln promote, through staging), and main again
# with nothing of the image changed (nothing rebuilt); then images on a kiln: parent and on a
# catalog: base, rebuilt when their base moves although their definitions do not change. The
# store's versions and channels are checked after each push, and printed.
. "$(dirname "$0")/lib.sh"
require_root
require_mirror
command -v git >/dev/null || skip "git is not installed"
[ -x "$(git --exec-path)/git-daemon" ] || skip "git daemon is not installed"

REPO="$WORK/images" UPSTREAM="$WORK/upstream" RUNS="$WORK/runs"
mkdir -p "$REPO/agent" "$UPSTREAM" "$RUNS"
G() { git -C "$REPO" -c user.email=dev@example.com -c user.name=dev "$@"; }

step "an images repository with one image that has tests, signed releases, three channels"
"$KILN" key generate --dir "$WORK/keys" --name release >/dev/null
cat >"$REPO/agent/image.yaml" <<'YAML'
name: agent
version: 1.0.0
base: {bootstrap: {variant: minbase}}
steps:
  - name: hello
    shell: 'echo hello > /etc/hello'
tests:
  - {file: /etc/hello, contains: '^hello$'}
YAML
cat >"$REPO/kiln.yaml" <<YAML
store: $WORK/store
signing: {key: $WORK/keys/release.key, public_key: $WORK/keys/release.pub}
channels:
  - name: dev
  - name: staging
    requires: {tests_passed: true}
  - name: prod
    requires: {tests_passed: true, been_in: [staging]}
YAML
printf '.kiln-ci/\n' >"$REPO/.gitignore"
printf '# agent images\n' >"$REPO/README.md"
git init -q -b main "$REPO"
G add -A && G commit -qm "the agent image"

step "a bare upstream served by git daemon, whose post-receive hook runs kiln ci"
git init -q --bare "$UPSTREAM/images.git"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="git://127.0.0.1:$PORT/images.git"
cat >"$UPSTREAM/images.git/hooks/post-receive" <<HOOK
#!/usr/bin/env bash
# Like a CI trigger: for each pushed ref, a fresh clone at the pushed commit, then kiln ci.
while read -r old new ref; do
  [ "\$new" = 0000000000000000000000000000000000000000 ] && continue
  n=\$(( \$(ls "$RUNS" | grep -c '\.rc\$' || true) + 1 ))
  printf '%s %s\n' "\$ref" "\$new" >"$RUNS/\$n.ref"
  (
    for variable in \$(env | grep -o '^GIT_[A-Z_]*'); do unset "\$variable"; done
    clone="$WORK/agent-\$n"
    git clone -q "$URL" "\$clone" && git -C "\$clone" checkout -q --detach "\$new" &&
      cd "\$clone" &&
      BUILD_SOURCEBRANCH="\$ref" TF_BUILD=True KILN_CACHE_DIR="$KILN_CACHE_DIR" \
        "$KILN" ci --json >"$RUNS/\$n.json" 2>"$RUNS/\$n.err"
    echo \$? >"$RUNS/\$n.rc"
  )
  echo "kiln ci for \$ref: exit \$(cat "$RUNS/\$n.rc")"
done
HOOK
chmod +x "$UPSTREAM/images.git/hooks/post-receive"
git daemon --listen=127.0.0.1 --port="$PORT" --base-path="$UPSTREAM" --export-all \
  --enable=receive-pack --reuseaddr --pid-file="$WORK/daemon.pid" --detach "$UPSTREAM"
stop_daemon() { [ -s "$WORK/daemon.pid" ] && kill "$(cat "$WORK/daemon.pid")" 2>/dev/null || true; }
trap 'stop_daemon; cleanup_work' EXIT
for _ in $(seq 50); do git ls-remote "$URL" >/dev/null 2>&1 && break; sleep 0.1; done
git ls-remote "$URL" >/dev/null || fail "git daemon does not answer on $URL"
G remote add origin "$URL"

RUN=0
# push REF...: one push, whose hook runs one kiln ci per ref; $RUN is then the last run.
push() {
  G push -q origin "$@" 2>"$WORK/push.err" || { cat "$WORK/push.err"; fail "git push $* failed"; }
  RUN=$(ls "$RUNS" | grep -c '\.rc$' || true)
  [ -s "$RUNS/$RUN.rc" ] || { cat "$WORK/push.err"; fail "the hook did not run kiln ci"; }
}
# expect_run CODE: the last run's exit code and its summary.
expect_run() {
  local code
  code=$(cat "$RUNS/$RUN.rc")
  if [ "$code" != "$1" ]; then
    echo "--- kiln ci's stderr:"; cat "$RUNS/$RUN.err"; echo "--- summary:"; cat "$RUNS/$RUN.json"
    fail "kiln ci for $(cut -d' ' -f1 "$RUNS/$RUN.ref") exited $code, expected $1"
  fi
}
# image FIELD: the field of the last run's one image (result, version, channel).
image() {
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["results"][0][sys.argv[2]])' \
    "$RUNS/$RUN.json" "$1"
}
# The store as a deployer sees it, one line: versions (as kiln ls lists them, newest first), and
# where each channel points. No store yet: none.
store_state() { # [NAME], agent by default
  { "$KILN" ls "${1:-agent}" --json 2>/dev/null || echo "[]"; } | python3 -c '
import json, sys
versions = json.load(sys.stdin)
channels = {c: v["version"] for v in versions for c in v["channels"]}
print("versions", [v["version"] for v in versions], "channels", dict(sorted(channels.items())))'
}
report_push() {
  echo "push $(cut -d' ' -f1 "$RUNS/$RUN.ref"): $(image result) $(image version); store: $(cd "$REPO" && store_state)"
}
# expect_state "STATE": the store's state, as store_state prints it.
expect_state() {
  local state
  state=$(cd "$REPO" && store_state)
  [ "$state" = "$1" ] || fail "the store holds: $state; expected: $1"
}
short() { git -C "$REPO" rev-parse --short=12 "$1"; }

step "a feature branch: built and tested, nothing published"
G checkout -q -b feature/Tools_1
echo "# tools" >>"$REPO/README.md" && G commit -qam "feature work"
push feature/Tools_1
expect_run 0
[ "$(image result)" = built ] || fail "the feature branch's image was $(image result), not built"
grep -q 'tests passed\|"tests_passed": true' "$RUNS/$RUN.json" "$RUNS/$RUN.err" ||
  [ -s "$WORK/agent-$RUN/.kiln-ci/agent/tests/junit.xml" ] || fail "the image's tests did not run"
grep -q '##vso\[task.setvariable variable=KILN_PUBLISHED' "$RUNS/$RUN.err" ||
  fail "no Azure pipeline variables with TF_BUILD set"
report_push
[ ! -e "$WORK/store" ] || [ "$(cd "$REPO" && store_state)" = "versions [] channels {}" ] ||
  fail "a feature branch published: $(cd "$REPO" && store_state)"

step "main: a dev version, channel dev"
G checkout -q main
push main
expect_run 0
DEV="1.0.0-dev.0+g$(short main)"
[ "$(image version)" = "$DEV" ] || fail "main was versioned $(image version), expected $DEV"
report_push
expect_state "versions ['$DEV'] channels {'dev': '$DEV'}"

step "a release branch: an rc version, staging through its rule (the tests passed)"
G checkout -q -b release/1.0
echo "# release 1.0" >>"$REPO/README.md" && G commit -qam "release 1.0"
push release/1.0
expect_run 0
RC="1.0.0-rc.1+g$(short release/1.0)"
[ "$(image version)" = "$RC" ] || fail "release/1.0 was versioned $(image version), expected $RC"
report_push
expect_state "versions ['$RC', '$DEV'] channels {'dev': '$DEV', 'staging': '$RC'}"

step "a tag: the release version; prod only through kiln promote and its rules"
G tag -a v1.0.0 -m "agent 1.0.0"
push v1.0.0
expect_run 0
[ "$(image version)" = 1.0.0 ] || fail "the tag was versioned $(image version), expected 1.0.0"
report_push
expect_state "versions ['1.0.0', '$RC', '$DEV'] channels {'dev': '$DEV', 'staging': '$RC'}"
cd "$REPO"
expect_exit 6 -- "$KILN" promote agent@1.0.0 --to prod
expect_in "$WORK/err" "staging"
"$KILN" promote agent@1.0.0 --to staging >/dev/null
"$KILN" promote agent@1.0.0 --to prod >/dev/null
"$KILN" verify agent@prod >/dev/null || fail "agent@prod does not verify"
cd - >/dev/null
echo "after kiln promote to staging, then prod: $(cd "$REPO" && store_state)"
expect_state "versions ['1.0.0', '$RC', '$DEV'] channels {'dev': '$DEV', 'prod': '1.0.0', 'staging': '1.0.0'}"

step "main again, nothing of the image changed: nothing rebuilt"
G checkout -q main
echo "# how to add an image" >>"$REPO/README.md" && G commit -qam "docs only"
push main
expect_run 0
[ "$(image result)" = unchanged ] || fail "an unchanged image was $(image result)"
[ ! -e "$WORK/agent-$RUN/.kiln-ci/agent" ] || fail "an unchanged image was built"
expect_in "$RUNS/$RUN.json" "agent@$DEV"
report_push
expect_state "versions ['1.0.0', '$RC', '$DEV'] channels {'dev': '$DEV', 'prod': '1.0.0', 'staging': '1.0.0'}"

step "a tag whose version is not the definition's: refused, nothing published"
G tag v1.1.0
push v1.1.0
expect_run 6
expect_in "$RUNS/$RUN.json" "1.1.0"
report_push
expect_state "versions ['1.0.0', '$RC', '$DEV'] channels {'dev': '$DEV', 'prod': '1.0.0', 'staging': '1.0.0'}"

# of NAME FIELD: the last run's FIELD (result, version) for image NAME.
of() {
  python3 -c 'import json, sys; print({r["name"]: r[sys.argv[3]] for r in json.load(open(sys.argv[1]))["results"]}[sys.argv[2]])' \
    "$RUNS/$RUN.json" "$1" "$2"
}
result_of() { of "$1" result; }
report_images() { # what the last run did to agent and runner, and the store after it
  echo "push $(cut -d' ' -f1 "$RUNS/$RUN.ref") ($1): agent $(of agent result) $(of agent version), runner $(of runner result) $(of runner version)"
  echo "  store: agent $(cd "$REPO" && store_state agent); runner $(cd "$REPO" && store_state runner)"
}
step "an image built on another (kiln:agent@dev): rebuilt when its parent is"
G checkout -q main
mkdir -p "$REPO/runner"
cat >"$REPO/runner/image.yaml" <<'YAML'
name: runner
version: 1.0.0
base: kiln:agent@dev
steps:
  - name: runner
    shell: 'echo runner > /etc/runner'
tests:
  - {file: /etc/hello, contains: '^hello$'}
YAML
G add runner && G commit -qm "a runner image on agent@dev"
push main
expect_run 0
[ "$(result_of agent) $(result_of runner)" = "unchanged published" ] ||
  fail "a new child: agent $(result_of agent), runner $(result_of runner)"
report_images "a new image on agent@dev"
sed -i "s|echo hello > /etc/hello|echo hello > /etc/hello; echo 2 > /etc/agent-release|" \
  "$REPO/agent/image.yaml"
G commit -qam "agent: a release file"
push main
expect_run 0
[ "$(result_of agent) $(result_of runner)" = "published published" ] ||
  fail "agent changed: agent $(result_of agent), runner $(result_of runner)"
expect_in "$RUNS/$RUN.json" "its parent agent is rebuilt in this run"
NEW_DEV=$(of agent version)
report_images "agent changed"

step "the parent's channel moved back by hand: the child is rebuilt, the parent is not"
(cd "$REPO" && "$KILN" promote "agent@$DEV" --to dev >/dev/null) || fail "kiln promote agent@$DEV --to dev"
echo "# the runner image" >>"$REPO/README.md" && G commit -qam "docs only"
push main
expect_run 0
[ "$(result_of agent) $(result_of runner)" = "unchanged published" ] ||
  fail "agent@dev moved back: agent $(result_of agent), runner $(result_of runner)"
expect_in "$RUNS/$RUN.json" "its parent kiln:agent@dev is now agent@$DEV (was agent@$NEW_DEV)"
report_images "after kiln promote agent@$DEV --to dev"

step "an image on a catalog: base: rebuilt when the catalog's entry changes, the others not"
cat >"$REPO/catalog.yaml" <<'YAML'
images:
  - {name: corp-base, description: the company's base, bootstrap: {variant: minbase}}
YAML
echo "catalog: catalog.yaml" >>"$REPO/kiln.yaml"
mkdir -p "$REPO/tools"
cat >"$REPO/tools/image.yaml" <<'YAML'
name: tools
version: 2.0.0
base: catalog:corp-base
steps:
  - name: tools
    shell: 'echo tools > /etc/tools'
tests:
  - {file: /etc/tools, contains: '^tools$'}
YAML
G add -A && G commit -qm "a tools image on the company's base"
push main
expect_run 0
[ "$(result_of tools)" = published ] || fail "the new tools image was $(result_of tools)"
sed -i 's/bootstrap: {variant: minbase}/bootstrap: {variant: minbase, packages: [tzdata]}/' \
  "$REPO/catalog.yaml"
G commit -qam "the company's base gets tzdata"
push main
expect_run 0
[ "$(result_of agent) $(result_of runner) $(result_of tools)" = "unchanged unchanged published" ] ||
  fail "the catalog changed: agent $(result_of agent), runner $(result_of runner), tools $(result_of tools)"
expect_in "$RUNS/$RUN.json" "the catalog's entry corp-base changed"
echo "push $(cut -d' ' -f1 "$RUNS/$RUN.ref") (the catalog entry changed): tools $(of tools result) $(of tools version); store: tools $(cd "$REPO" && store_state tools)"
echo "PASS"
