#!/usr/bin/env bash
# Image tests: a step's tests run right after it and fail the build there; the definition's run
# on the finished tree, read-only; OUT/tests holds junit.xml; `kiln test OUT` runs them again
# without rebuilding, or an edited definition's; a hanging command is stopped at its timeout.
. "$(dirname "$0")/lib.sh"
require_root
require_mirror

DEF="$WORK/def"
mkdir -p "$DEF"
# A name longer than ustar's 100 bytes and names that are not ASCII: each needs a pax header.
LONG_NAME=$(printf 'd%.0s' $(seq 110))
write_image() { # write_image TOOLS_STDOUT_REGEX EXTRA_TESTS_YAML
  cat >"$DEF/image.yaml" <<YAML
name: tests-it
version: 0.2.0
base: {bootstrap: {variant: minbase}}
steps:
  - name: tools
    packages: [tree]
    tests:
      - {name: tree runs, command: tree --version, stdout: '$1'}
      - {package: tree, version: '>= 2.0'}
  - name: agent
    shell: |
      useradd --create-home --shell /bin/bash --groups users azdo
      printf 'AGENT_POOL=linux\n' > /etc/agent.conf
      chmod 0640 /etc/agent.conf && chown root:azdo /etc/agent.conf
      mkdir -p /etc/systemd/system/multi-user.target.wants
      ln -s /lib/systemd/system/agent.service /etc/systemd/system/multi-user.target.wants/
      mkdir -p "/opt/naïve-$LONG_NAME" && echo x > "/opt/naïve-$LONG_NAME/ünïcode.txt"
tests:
  - {user: azdo, shell: /bin/bash, groups: [users]}
  - {group: users}
  - {file: /etc/agent.conf, type: file, mode: "0640", owner: "root:azdo", contains: '^AGENT_POOL=linux$'}
  - {file: /etc/nope, exists: false}
  - {name: runs as azdo, command: id -un, stdout: '^azdo$', as: azdo}
  - {name: the tree is read-only, command: 'touch /etc/kiln-was-here', exit_code: 1, stderr: 'Read-only'}
  - {service: agent}
$2
YAML
}

junit_counts() { # junit_counts FILE: "tests failures"
  python3 -c 'import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
print(r.get("tests"), r.get("failures"))' "$1"
}

step "a bake whose step and image tests pass"
write_image '^tree v2\.' ""
expect_exit 0 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/img"
expect_in "$WORK/out" "tests     $WORK/img/tests/junit.xml (9 passed)"
expect_in "$WORK/err" "[5/7] tests done"
expect_in "$WORK/img/logs/03-tools.log" "PASS tree runs"
expect_in "$WORK/img/logs/05-tests.log" "PASS the tree is read-only"
[ "$(junit_counts "$WORK/img/tests/junit.xml")" = "9 0" ] || fail "junit.xml: $(junit_counts "$WORK/img/tests/junit.xml")"
python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); assert m["tests"] == {"total": 9, "failed": 0}, m["tests"]' \
  "$WORK/img/manifest.json"
zstd -dc "$WORK/img/rootfs.tar.zst" | tar -tf - 2>/dev/null | grep -q 'etc/kiln-was-here' && fail "a test changed the tree"

step "GNU tar, bsdtar, Python's tarfile and Go's archive/tar (umoci) read the rootfs silently"
zstd -qdc "$WORK/img/rootfs.tar.zst" >"$WORK/rootfs.tar"
wanted="opt/naïve-$LONG_NAME/ünïcode.txt"
# In a UTF-8 locale, as a user's shell has; names travel as UTF-8 in pax headers.
for reader in "tar -tf" "bsdtar -tf"; do
  LC_ALL=C.UTF-8 $reader "$WORK/rootfs.tar" >"$WORK/names" 2>"$WORK/warnings" || fail "$reader failed"
  [ ! -s "$WORK/warnings" ] || fail "$reader warns: $(head -3 "$WORK/warnings")"
  grep -qxF "$wanted" "$WORK/names" || fail "$reader does not list $wanted"
done
python3 -W error -c 'import sys, tarfile
names = tarfile.open(sys.argv[1]).getnames()
assert sys.argv[2] in names, "no " + sys.argv[2]' "$WORK/rootfs.tar" "$wanted" || fail "Python's tarfile"
(
  cd "$WORK"
  umoci init --layout oci && umoci new --image oci:t && umoci raw add-layer --image oci:t rootfs.tar &&
    umoci unpack --image oci:t bundle
) >"$WORK/umoci.log" 2>&1 || fail "umoci: $(tail -3 "$WORK/umoci.log")"
grep -qiE "warn|ignor" "$WORK/umoci.log" && fail "umoci warns: $(grep -iE 'warn|ignor' "$WORK/umoci.log" | head -3)"
[ -f "$WORK/bundle/rootfs/$wanted" ] || fail "umoci did not unpack $wanted"
rm -rf "$WORK/rootfs.tar" "$WORK/oci" "$WORK/bundle"

step "a rebuild with no change takes the tests' results instead of running them again"
expect_exit 0 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/img2"
expect_in "$WORK/img2/logs/03-tools.log" "the same 2 tests passed on this tree before; not run again"
expect_in "$WORK/img2/logs/05-tests.log" "the same 7 tests passed on this tree before; not run again"
[ "$(junit_counts "$WORK/img2/tests/junit.xml")" = "9 0" ] || fail "junit.xml of the rebuild"
cmp "$WORK/img/rootfs.tar.zst" "$WORK/img2/rootfs.tar.zst" || fail "the rebuild differs"
rm -rf "$WORK/img2"

step "kiln test OUT runs the recorded tests again, and leaves OUT as it was built"
built_state() { (cd "$WORK/img" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
built_state >"$WORK/img.sums"
expect_exit 0 -- "$KILN" test "$WORK/img" --results "$WORK/results"
expect_in "$WORK/out" "9 tests, all passed"
expect_in "$WORK/out" "junit  $WORK/results/junit.xml"
[ "$(junit_counts "$WORK/results/junit.xml")" = "9 0" ] || fail "kiln test --results wrote no junit.xml"
expect_exit 0 -- "$KILN" test "$WORK/img" --json
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert (r["total"], r["failed"]) == (9, 0), r' "$WORK/out"

step "an edited definition's tests: a failure and a hang, stopped at its timeout"
write_image '^tree v2\.' "  - {name: pool is windows, file: /etc/agent.conf, contains: 'AGENT_POOL=windows'}
  - {name: hangs, command: sleep 60.$$, timeout: 2s}"
start=$(date +%s)
expect_exit 1 -- "$KILN" test "$WORK/img" --definition "$DEF/image.yaml"
[ $(( $(date +%s) - start )) -lt 40 ] || fail "the hanging test was not stopped at its timeout"
expect_in "$WORK/err" "11 tests, 2 failed: 'pool is windows' (expected content matching /AGENT_POOL=windows/, got 'AGENT_POOL=linux')"
expect_in "$WORK/err" "'hangs' (expected to finish within 2s, got still running after 2s, stopped)"
expect_in "$WORK/err" "FAIL hangs"
expect_nothing_left "$WORK" "sleep 60.$$" # this test's own: other work on the machine may sleep
built_state | diff - "$WORK/img.sums" || fail "kiln test changed OUT"
expect_exit 0 -- "$KILN" test "$WORK/img"
expect_in "$WORK/out" "9 tests, all passed"

step "--record: the edited tests and their results replace those in OUT/tests"
write_image '^tree v2\.' "  - {name: pool is windows, file: /etc/agent.conf, contains: 'AGENT_POOL=windows'}"
expect_exit 1 -- "$KILN" test "$WORK/img" --definition "$DEF/image.yaml" --record
[ "$(junit_counts "$WORK/img/tests/junit.xml")" = "10 1" ] || fail "junit.xml should count 1 failure"
expect_exit 1 -- "$KILN" test "$WORK/img"
expect_in "$WORK/err" "10 tests, 1 failed: 'pool is windows'"
expect_cache_clean

step "a step's failing test fails the build at that step, with junit.xml written"
write_image '^tree v9' ""
expect_exit 1 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/bad"
expect_in "$WORK/err" "step 3/7 'tools' (packages) failed: 2 tests, 1 failed: 'tree runs' (expected stdout matching /^tree v9/, got 'tree v2."
expect_no_image "$WORK/bad"
[ "$(junit_counts "$WORK/bad/tests/junit.xml")" = "2 1" ] || fail "junit.xml of the failed build"

step "bad input: no finished image, no recorded tests, an invalid test"
expect_exit 4 -- "$KILN" test "$WORK/bad"
expect_in "$WORK/err" "holds no finished image"
rm "$WORK/img/tests/tests.json"
expect_exit 4 -- "$KILN" test "$WORK/img"
expect_in "$WORK/err" "has no recorded tests"
write_image '(' ""
expect_exit 3 -- "$KILN" test "$WORK/img" --definition "$DEF/image.yaml"
expect_in "$WORK/err" "stdout '(' is not a valid regular expression"

step "ok"
