# Shared helpers for kiln's integration tests. Each test is a bash script that runs the built
# kiln binary ($KILN) the way a user would; it exits 0 on success, 77 to skip with a reason,
# anything else on failure.
set -euo pipefail
# With pipefail, a reader that stops early (grep -q, head) can fail a pipeline: its writer dies
# of SIGPIPE. Pipelines here read to the end (grep >/dev/null, awk 'NR == 1').

KILN=${KILN_BIN:?set KILN_BIN to the kiln binary}
SOURCE_DIR=${KILN_SOURCE_DIR:?set KILN_SOURCE_DIR to the repository}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kiln-it-XXXXXX")
export KILN_CACHE_DIR="$WORK/cache"

cleanup_work() {
  # Never remove below something still mounted; the tests check for that themselves.
  if ! grep -q " $WORK" /proc/self/mountinfo; then rm -rf "$WORK"; fi
}
trap cleanup_work EXIT
[ -n "${KILN_KEEP_WORK:-}" ] && trap - EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }
step() { echo "--- $*"; }

require_root() {
  [ "$(id -u)" = 0 ] || skip "needs root (namespaces, mounts, mmdebstrap)"
  command -v mmdebstrap >/dev/null || skip "mmdebstrap is not installed"
}

# The Debian mirror this machine's apt uses must answer, or a bake cannot run here.
require_mirror() {
  local uri
  uri=$( (grep -shoE '^(URIs:|deb) +[a-z]+://[^ ]+' /etc/apt/sources.list \
            /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list || true) \
        | awk 'NR == 1 {print $2}')
  [ -n "$uri" ] || skip "no Debian mirror configured in /etc/apt"
  curl -fsS --max-time 15 -o /dev/null "$uri/dists/bookworm/Release" ||
    skip "the Debian mirror ($uri) does not answer"
}

# expect_exit CODE -- CMD...: runs CMD, keeps stdout/stderr in $WORK/out and $WORK/err.
expect_exit() {
  local want=$1; shift; [ "$1" = "--" ] && shift
  local got=0
  "$@" >"$WORK/out" 2>"$WORK/err" || got=$?
  if [ "$got" != "$want" ]; then
    echo "stdout:"; cat "$WORK/out"; echo "stderr:"; cat "$WORK/err"
    fail "'$*' exited $got, expected $want"
  fi
}

# expect_in FILE TEXT: FILE contains TEXT literally.
expect_in() {
  grep -qF -- "$2" "$1" || { echo "--- $1:"; cat "$1"; fail "expected to find: $2"; }
}

# expect_not_in FILE TEXT: FILE does not contain TEXT.
expect_not_in() {
  if grep -qF -- "$2" "$1"; then echo "--- $1:"; cat "$1"; fail "did not expect: $2"; fi
}

# No mount point at or below DIR, no process whose command line holds MARKER.
expect_nothing_left() {
  local dir=$1 marker=$2
  if grep -F " $dir" /proc/self/mountinfo; then fail "still mounted below $dir"; fi
  if pgrep -f -- "$marker" >/dev/null; then
    ps -ef | grep -F -- "$marker" | grep -v grep
    fail "a process with '$marker' survived"
  fi
}

# An output folder with no finished image in it.
expect_no_image() {
  local out=$1
  [ ! -e "$out/manifest.json" ] || fail "$out/manifest.json exists after a failed build"
  [ ! -e "$out/rootfs.tar.zst" ] || fail "$out/rootfs.tar.zst exists after a failed build"
  [ ! -e "$out/.kiln-work" ] || fail "$out/.kiln-work was left behind"
}

# No half-built layer, export or build scratch left in the cache.
expect_cache_clean() {
  local cache=${1:-$KILN_CACHE_DIR} leftovers
  leftovers=$(find "$cache/layers" "$cache/exports" -maxdepth 1 -name '.tmp-*' 2>/dev/null;
              find "$cache/tmp" -mindepth 1 -maxdepth 1 2>/dev/null)
  [ -z "$leftovers" ] || fail "left in the cache: $leftovers"
}

# write_definition DIR STEPS_YAML [BASE_YAML]: a small definition for one test.
write_definition() {
  local dir=$1 steps=$2 base=${3:-"{bootstrap: {variant: minbase}}"}
  mkdir -p "$dir"
  cat >"$dir/image.yaml" <<YAML
name: it-image
version: 0.1.0
base: $base
steps:
$steps
YAML
}

# cyclonedx_schema DIR: the official CycloneDX JSON schemas, as the CycloneDX JavaScript library
# (a pinned version from the npm registry) ships them, unpacked into DIR/package/res/schema.
# Returns 1, saying why, when they cannot be had here.
cyclonedx_schema() {
  local dir=$1
  command -v npm >/dev/null || { echo "SKIP: npm is not installed"; return 1; }
  /usr/bin/python3 -c 'import jsonschema' 2>/dev/null ||
    { echo "SKIP: python3-jsonschema is not installed"; return 1; }
  mkdir -p "$dir"
  (cd "$dir" && npm pack --silent @cyclonedx/cyclonedx-library@10.3.0 >/dev/null 2>&1) ||
    { echo "SKIP: the npm registry does not answer"; return 1; }
  tar -xzf "$dir"/cyclonedx-cyclonedx-library-10.3.0.tgz -C "$dir"
}

# render_page FILE DOM_OUT: loads FILE in headless Chromium, writes the rendered DOM to DOM_OUT
# and every console message of the page (errors included) to DOM_OUT.console.
render_page() {
  local file=$1 dom=$2
  command -v chromium >/dev/null || skip "chromium is not installed (scripts/setup.sh installs it)"
  timeout 120 chromium --headless --no-sandbox --disable-gpu --enable-logging=stderr --v=0 \
    --user-data-dir="$WORK/chromium-profile" --dump-dom "file://$file" >"$dom" 2>"$dom.stderr" ||
    { cat "$dom.stderr"; fail "chromium could not render $file"; }
  grep ':CONSOLE' "$dom.stderr" >"$dom.console" || true
}
