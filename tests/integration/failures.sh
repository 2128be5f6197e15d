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
    shell: 'echo prepared'
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

step "a package that does not exist, exit 1 with a hint naming it"
write_definition "$WORK/pkg" "  - packages: [git, kiln-no-such-package]"
expect_exit 1 -- "$KILN" build "$WORK/pkg/image.yaml" --out "$WORK/pkg-out"
expect_in "$WORK/err" "step 3/5 'packages-1' (packages) failed: apt-get ended with exit code 100"
expect_in "$WORK/err" "E: Unable to locate package kiln-no-such-package"
expect_in "$WORK/err" "hint: no package named 'kiln-no-such-package'"
expect_no_image "$WORK/pkg-out"
echo "PASS"
