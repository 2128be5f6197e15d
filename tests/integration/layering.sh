#!/usr/bin/env bash
# Approved bases and layering: an image built on catalog:debian-12-cis (hardened), a second image
# built on the first (image:PATH) with the parent's ancestry in its manifest; a parent that does
# not match its manifest, and bases that cannot be found, are refused. Published, the two keep
# their ancestry in the store, and a pulled image is the one that was built.
. "$(dirname "$0")/lib.sh"
require_root
require_mirror

step "the catalog lists the shipped entries and the user's own"
cat >"$WORK/catalog.yaml" <<'YAML'
images:
  - name: corp-debian-12
    description: Debian 12 with curl
    bootstrap: {packages: [ca-certificates, curl]}
YAML
expect_exit 0 -- env KILN_CATALOG="$WORK/catalog.yaml" "$KILN" catalog ls
expect_in "$WORK/out" "debian-12-minimal"
expect_in "$WORK/out" "debian-12-cis"
expect_in "$WORK/out" "corp-debian-12         Debian 12 with curl  [$WORK/catalog.yaml]"

mkdir -p "$WORK/parent" "$WORK/child"
cat >"$WORK/parent/image.yaml" <<'YAML'
name: parent
version: 1.2.0
base: catalog:debian-12-cis
requirements:
  users: [{name: azdo, uid: 1001}]
steps:
  - shell: 'echo parent > /etc/parent-marker && install -o azdo -m 0600 /dev/null /home/azdo/owned'
YAML
cat >"$WORK/child/image.yaml" <<'YAML'
name: child
version: 0.1.0
base: image:../parent-out
steps:
  - shell: 'test -f /etc/parent-marker && echo child > /etc/child-marker'
YAML

step "a base that cannot be found is a validation error"
expect_exit 3 -- "$KILN" validate "$WORK/child/image.yaml"
expect_in "$WORK/err" "image.yaml:3:7: error: base image:../parent-out is not a built kiln image"
sed 's/catalog:debian-12-cis/catalog:debian-12-cys/' "$WORK/parent/image.yaml" >"$WORK/typo.yaml"
expect_exit 3 -- "$KILN" validate "$WORK/typo.yaml"
expect_in "$WORK/err" "base catalog:debian-12-cys is not in the catalog"
expect_in "$WORK/err" "did you mean 'debian-12-cis'?"

step "the parent, from the hardened catalog entry"
expect_exit 0 -- "$KILN" build "$WORK/parent/image.yaml" --out "$WORK/parent-out"
expect_in "$WORK/out" "security  $WORK/parent-out/security-audit.md (32 pass, 0 fail, 0 waived)"
python3 -c 'import json,sys; b=json.load(open(sys.argv[1]))["base"]; assert b["catalog"]=="debian-12-cis", b' "$WORK/parent-out/manifest.json"

step "the child, built on the parent"
expect_exit 0 -- "$KILN" build "$WORK/child/image.yaml" --out "$WORK/child-out"
python3 - "$WORK/parent-out/manifest.json" "$WORK/child-out/manifest.json" <<'PY'
import hashlib, json, sys
parent, child = (json.load(open(p)) for p in sys.argv[1:])
base = child["base"]["image"]
assert (base["name"], base["version"]) == ("parent", "1.2.0"), base
assert base["rootfs_sha256"] == parent["outputs"][0]["sha256"]
assert base["manifest_sha256"] == hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest()
PY
zstd -dc "$WORK/child-out/rootfs.tar.zst" | python3 -c '
import sys, tarfile
entries = {e.name: e for e in tarfile.open(fileobj=sys.stdin.buffer, mode="r|")}
assert "etc/parent-marker" in entries and "etc/child-marker" in entries
owned = entries["home/azdo/owned"]
assert (owned.uid, owned.mode) == (1001, 0o600), (owned.uid, oct(owned.mode))
assert entries["etc/ssh/sshd_config.d/10-kiln-cis-root-login.conf"].isfile()
'
# The child's report page shows what it changed on top of its parent.
expect_in "$WORK/child-out/report.html" "Changes since the parent image (parent 1.2.0)"
expect_in "$WORK/child-out/report.html" "<td>added</td><td>/etc/child-marker</td>"

step "published, the two images know their ancestry; a pulled image is the built one"
export KILN_STORE="$WORK/store"
expect_exit 0 -- "$KILN" publish "$WORK/parent-out"
expect_exit 0 -- "$KILN" publish "$WORK/child-out"
expect_exit 0 -- "$KILN" show parent@1.2.0 --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["children"]==["child@0.1.0"], d' "$WORK/out"
expect_exit 0 -- "$KILN" show child@^0.1
expect_in "$WORK/out" "parent      parent@1.2.0"
expect_exit 0 -- "$KILN" pull child@0.1.0 --to "$WORK/child-pulled"
diff -r -x .kiln.lock "$WORK/child-out" "$WORK/child-pulled" || fail "the pulled child differs"

step "a base from the store: kiln:NAME@RANGE is pulled, checked and recorded"
mkdir -p "$WORK/from-store"
cat >"$WORK/from-store/image.yaml" <<'YAML'
name: child-from-store
version: 0.1.0
base: kiln:parent@^1.2
steps:
  - shell: 'test -f /etc/parent-marker && echo store > /etc/store-marker'
YAML
expect_exit 0 -- "$KILN" validate "$WORK/from-store/image.yaml"
expect_exit 0 -- "$KILN" build "$WORK/from-store/image.yaml" --out "$WORK/from-store-out"
expect_in "$WORK/err" "base kiln:parent@^1.2 is parent@1.2.0 (range ^1.2) from $WORK/store, pulled and checked"
python3 - "$WORK/parent-out/manifest.json" "$WORK/from-store-out/manifest.json" <<'PY'
import hashlib, json, sys
parent, child = (json.load(open(p)) for p in sys.argv[1:])
base = child["base"]["image"]
assert base["from_store"] == {"ref": "parent@^1.2", "resolved": "parent@1.2.0 (range ^1.2)"}, base
assert base["rootfs_sha256"] == parent["outputs"][0]["sha256"], base
PY
expect_exit 0 -- "$KILN" build "$WORK/from-store/image.yaml" --out "$WORK/from-store-out"
expect_in "$WORK/err" "already pulled"
expect_in "$WORK/out" "(2 of 2 layers from the cache)"
expect_exit 0 -- "$KILN" cache ls
expect_in "$WORK/out" "pulled for a base"
sed 's/kiln:parent@^1.2/kiln:parent@^2/' "$WORK/from-store/image.yaml" >"$WORK/from-store/none.yaml"
expect_exit 4 -- "$KILN" build "$WORK/from-store/none.yaml" --out "$WORK/none-out"
expect_in "$WORK/err" "the base kiln:parent@^2:"
sed 's/kiln:parent@^1.2/kiln:Parent@prod/' "$WORK/from-store/image.yaml" >"$WORK/from-store/bad.yaml"
expect_exit 3 -- "$KILN" validate "$WORK/from-store/bad.yaml"
expect_in "$WORK/err" "bad.yaml:3:7: error: base kiln:Parent@prod: 'Parent' is not a valid image name"
expect_exit 2 -- env -u KILN_STORE "$KILN" build "$WORK/from-store/image.yaml" --out "$WORK/none-out"
expect_in "$WORK/err" "is pulled from the store: give --store"

step "a rebuilt parent is a new base for the child"
expect_exit 0 -- "$KILN" build "$WORK/child/image.yaml" --explain
grep -qE "^hit +base " "$WORK/out" || fail "an unchanged parent should be cached"
echo "tampered" >>"$WORK/parent-out/rootfs.tar.zst"
expect_exit 4 -- "$KILN" build "$WORK/child/image.yaml" --out "$WORK/child-bad"
expect_in "$WORK/err" "the parent image in $WORK/parent-out does not match its manifest"
expect_no_image "$WORK/child-bad"
echo "PASS"
