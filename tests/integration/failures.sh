#!/usr/bin/env bash
# Each bad input the foundation names ends with a clear error, the right exit code, and no
# finished-looking image in OUT: a wrong sha256, a failing shell step, a package that does not
# exist, a mirror that does not answer, a full disk, a cache folder that cannot hold layers.
. "$(dirname "$0")/lib.sh"
require_root

step "a wrong sha256 fails before the bootstrap, exit 4"
mkdir -p "$WORK/sha/files"
echo "tool" >"$WORK/sha/files/tool.bin"
write_definition "$WORK/sha" "  - artifact:
      url: file:files/tool.bin
      sha256: $(printf '0%.0s' {1..64})
      dest: /usr/local/bin/tool"
expect_exit 4 -- "$KILN" build "$WORK/sha/image.yaml" --out "$WORK/sha-out"
expect_in "$WORK/err" "kiln: error: step 1/5 'inputs' failed: artifact of step 'artifact-1' (image.yaml:5:5) does not match its sha256"
expect_in "$WORK/err" "got $(sha256sum "$WORK/sha/files/tool.bin" | cut -d' ' -f1)"
expect_in "$WORK/err" "hint: if this download is the one you trust, set sha256:"
[ ! -e "$WORK/sha-out/logs/02-bootstrap.log" ] || fail "the bootstrap ran despite a bad input"
expect_no_image "$WORK/sha-out"
[ -z "$(ls -A "$KILN_CACHE_DIR/artifacts")" ] || fail "a download that failed its check was cached"

step "an artifact URL that does not answer, exit 4"
write_definition "$WORK/url" "  - artifact:
      url: http://127.0.0.1:9/tool.tar.gz
      sha256: $(printf 'a%.0s' {1..64})
      extract_to: /opt/tool"
expect_exit 4 -- "$KILN" build "$WORK/url/image.yaml" --out "$WORK/url-out"
expect_in "$WORK/err" "cannot download http://127.0.0.1:9/tool.tar.gz"
expect_no_image "$WORK/url-out"

step "a mirror that does not answer, exit 5"
write_definition "$WORK/mirror" "  - shell: 'true'" "{bootstrap: {mirror: 'http://127.0.0.1:9/debian'}}"
expect_exit 5 -- "$KILN" build "$WORK/mirror/image.yaml" --out "$WORK/mirror-out"
expect_in "$WORK/err" "kiln: error: step 2/5 'bootstrap' failed: mmdebstrap ended with exit code"
expect_in "$WORK/err" "hint: the package mirror did not answer: check base.bootstrap.mirror"
expect_cache_clean
expect_in "$WORK/err" "$WORK/mirror-out/logs/02-bootstrap.log"
expect_no_image "$WORK/mirror-out"
expect_nothing_left "$WORK" "$WORK/mirror-out"

step "a cache folder on a filesystem without overlayfs upper support, exit 5"
mkdir -p "$WORK/ovl/lower" "$WORK/ovl/upper" "$WORK/ovl/work" "$WORK/ovl/mnt"
mount -t overlay kiln-it-ovl -o "lowerdir=$WORK/ovl/lower,upperdir=$WORK/ovl/upper,workdir=$WORK/ovl/work" "$WORK/ovl/mnt"
code=0
KILN_CACHE_DIR="$WORK/ovl/mnt/cache" "$KILN" build "$WORK/mirror/image.yaml" --out "$WORK/ovl-out" \
  >"$WORK/out" 2>"$WORK/err" || code=$?
umount "$WORK/ovl/mnt"
[ "$code" = 5 ] || { cat "$WORK/err"; fail "overlay-less cache: exit $code, expected 5"; }
expect_in "$WORK/err" "is on a filesystem that cannot hold overlayfs layers"
expect_in "$WORK/err" "hint: choose a cache folder on ext4, xfs, btrfs or tmpfs with --cache-dir"
[ ! -e "$WORK/ovl-out/logs/02-bootstrap.log" ] || fail "the bootstrap ran before the cache was checked"

require_mirror

step "a full disk (the cache's), exit 5"
mkdir -p "$WORK/small"
mount -t tmpfs -o size=40m kiln-it-small "$WORK/small"
write_definition "$WORK/disk" "  - shell: 'true'"
code=0
KILN_CACHE_DIR="$WORK/small/cache" "$KILN" build "$WORK/disk/image.yaml" --out "$WORK/disk-out" \
  >"$WORK/out" 2>"$WORK/err" || code=$?
expect_no_image "$WORK/disk-out"
expect_cache_clean "$WORK/small/cache"
umount "$WORK/small"
[ "$code" = 5 ] || { cat "$WORK/err"; fail "full disk: exit $code, expected 5"; }
expect_in "$WORK/err" "hint: a disk is full: check free space (df) on the cache's filesystem"

step "a failing shell step names the step, shows its log tail, exit 1"
write_definition "$WORK/shell" "  - name: prepare
    shell: 'echo prepared; echo mark >/etc/prepared-mark'
  - name: broken
    shell:
      run: |
        echo 'about to fail'
        false
        echo 'never printed'"
expect_exit 1 -- "$KILN" build "$WORK/shell/image.yaml" --out "$WORK/shell-out"
expect_in "$WORK/err" "kiln: error: step 4/6 'broken' (shell) failed: /bin/sh ended with exit code 1"
expect_in "$WORK/err" "lines of $WORK/shell-out/logs/04-broken.log:"
expect_in "$WORK/err" "  | about to fail"
expect_in "$WORK/err" "hint: the script failed"
expect_in "$WORK/shell-out/logs/03-prepare.log" "prepared"
if grep -qx "never printed" "$WORK/shell-out/logs/04-broken.log"; then fail "set -e was not in force"; fi
expect_no_image "$WORK/shell-out"
expect_nothing_left "$WORK" "$WORK/shell-out"
expect_cache_clean

step "--on-error=abort keeps the failed tree; kiln shell enters it, and a later build drops it"
expect_exit 1 -- "$KILN" build "$WORK/shell/image.yaml" --out "$WORK/kept-out" --on-error=abort
expect_in "$WORK/err" "is kept: kiln shell $WORK/kept-out opens a shell in it"
expect_no_image "$WORK/kept-out"
expect_exit 0 -- "$KILN" shell "$WORK/kept-out" -- sh -c 'cat /etc/prepared-mark; ls /'
expect_exit 7 -- "$KILN" shell "$WORK/kept-out" -- sh -c 'echo fixed >/etc/fixed-by-hand; exit 7'
expect_exit 0 -- "$KILN" shell "$WORK/kept-out" -- cat /etc/fixed-by-hand
expect_in "$WORK/out" "fixed"
echo 'echo "in the tree as $(id -u)"; exit 3' >"$WORK/shell-input"
code=0; "$KILN" shell "$WORK/kept-out" <"$WORK/shell-input" >"$WORK/out" 2>&1 || code=$?
[ "$code" = 3 ] || { cat "$WORK/out"; fail "a login shell's exit status: $code, expected 3"; }
expect_in "$WORK/out" "in the tree as 0"
kept=$(ls "$KILN_CACHE_DIR/kept")
cp "$WORK/kept-out/kept.json" "$WORK/kept.json.good"
python3 - "$WORK/kept-out/kept.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1])); doc["layers"] = ["../../../../etc"]
json.dump(doc, open(sys.argv[1], "w"))
PY
expect_exit 4 -- "$KILN" shell "$WORK/kept-out" -- true
expect_in "$WORK/err" "'../../../../etc' is not a layer key"
cp "$WORK/kept.json.good" "$WORK/kept-out/kept.json"
sed -i 's/false/true/' "$WORK/shell/image.yaml"
expect_exit 0 -- "$KILN" build "$WORK/shell/image.yaml" --out "$WORK/kept-out" --on-error=abort
[ ! -e "$WORK/kept-out/kept.json" ] && [ ! -e "$KILN_CACHE_DIR/kept/$kept" ] ||
  fail "a successful build left the earlier kept tree"
expect_exit 1 -- "$KILN" shell "$WORK/kept-out" -- touch /etc/new-file
expect_in "$WORK/err" "Read-only file system"
expect_exit 0 -- "$KILN" shell "$WORK/kept-out" --write -- touch /etc/new-file
expect_exit 1 -- "$KILN" shell "$WORK/kept-out" -- test -e /etc/new-file
expect_nothing_left "$WORK" "$WORK/kept-out"
expect_cache_clean

step "a package that does not exist, exit 1 with a hint naming it"
write_definition "$WORK/pkg" "  - packages: [git, kiln-no-such-package]"
expect_exit 1 -- "$KILN" build "$WORK/pkg/image.yaml" --out "$WORK/pkg-out"
expect_in "$WORK/err" "step 3/5 'packages-1' (packages) failed: apt-get ended with exit code 100"
expect_in "$WORK/err" "E: Unable to locate package kiln-no-such-package"
expect_in "$WORK/err" "hint: no package named 'kiln-no-such-package'"
expect_no_image "$WORK/pkg-out"
echo "PASS"
