#!/usr/bin/env bash
# Bakes examples/linux-agent as a user would and checks the outputs, the manifest, the contents
# of the tar (the CIS base, the proxy, what the Ansible role did with the secret), the logs, and
# that a second bake with the same epoch gives the same bytes.
. "$(dirname "$0")/lib.sh"
require_root
require_mirror

EXAMPLE="$SOURCE_DIR/examples/linux-agent"
EPOCH=1700000000
OUT="$WORK/out1"
command -v ansible-playbook >/dev/null || skip "ansible is not installed (scripts/setup.sh installs it)"
export AGENT_FEED_TOKEN=kiln-example-feed-token # what scripts/bake-example.sh uses

step "bake the example"
expect_exit 0 -- env SOURCE_DATE_EPOCH=$EPOCH "$KILN" build "$EXAMPLE/image.yaml" --out "$OUT"
expect_in "$WORK/out" "built linux-agent 1.1.0 in"
expect_in "$WORK/out" "rootfs    $OUT/rootfs.tar.zst"
expect_in "$WORK/out" "manifest  $OUT/manifest.json"
expect_in "$WORK/out" "security  $OUT/security-audit.md (32 pass, 0 fail, 0 waived)"
expect_in "$WORK/out" "tests     $OUT/tests/junit.xml (12 passed)"
expect_in "$WORK/err" "[13/13] export done in"
expect_nothing_left "$WORK" "$OUT/.kiln-work"
[ ! -e "$OUT/.kiln-work" ] || fail "the work folder was left behind"

step "logs: one per phase"
for log in 01-inputs 02-bootstrap 03-requirements 04-tools 05-agent-user 06-profile \
           07-agent-tools 08-agent-config 09-agent-setup 10-tests 11-report 12-generalize \
           13-export; do
  [ -s "$OUT/logs/$log.log" ] || fail "missing or empty log $log.log"
done
expect_in "$OUT/logs/09-agent-setup.log" "agent-healthcheck: all tools present"
expect_in "$OUT/logs/08-agent-config.log" "TASK [azdo_agent : Decrypt the licence with the feed token]"
expect_in "$OUT/logs/04-tools.log" "PASS git works"
expect_in "$OUT/logs/10-tests.log" "PASS login shells get the proxy"
expect_in "$OUT/software-report.md" "- OS: Debian GNU/Linux 12 (bookworm)"
grep -qE '^\| Git \| 2\.39\.[0-9]+ \|$' "$OUT/software-report.md" || fail "the software report has no Git version"
grep -q '<testsuites name="kiln" tests="12" failures="0"' "$OUT/tests/junit.xml" || fail "junit.xml"
if grep -rqF "$AGENT_FEED_TOKEN" "$OUT"; then fail "the feed token is in the outputs"; fi

step "manifest"
python3 - "$OUT" "$EXAMPLE" "$EPOCH" <<'PY'
import hashlib, json, os, sys
out, example, epoch = sys.argv[1], sys.argv[2], int(sys.argv[3])
m = json.load(open(os.path.join(out, "manifest.json")))
def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()
assert m["manifest_format"] == 1
assert (m["name"], m["version"]) == ("linux-agent", "1.1.0"), m["name"]
rootfs = m["outputs"][0]
assert rootfs["name"] == "rootfs" and rootfs["file"] == "rootfs.tar.zst"
assert rootfs["sha256"] == sha(os.path.join(out, "rootfs.tar.zst")), "rootfs sha256"
assert rootfs["size"] == os.path.getsize(os.path.join(out, "rootfs.tar.zst"))
assert m["definition"]["sha256"] == sha(os.path.join(example, "image.yaml"))
inputs = {i["path"]: i["sha256"] for i in m["definition"]["inputs"]}
assert set(inputs) == {"files/agent-env.sh", "files/setup.sh", "ansible"}, inputs
assert m["artifacts"][0]["sha256"] == sha(os.path.join(example, "artifacts/agent-tools-1.2.0.tar.gz"))
packages = {p["name"]: p for p in m["packages"]}
for name in ["git", "curl", "jq", "unzip", "python3", "build-essential", "sudo", "ca-certificates"]:
    assert name in packages, name
assert packages["git"]["architecture"] == "amd64" and packages["git"]["version"]
assert m["base"]["catalog"] == "debian-12-cis" and m["base"]["bootstrap"]["suite"] == "bookworm"
audit = m["security_audit"]
assert (audit["pass"], audit["fail"], audit["waived"]) == (32, 0, 0), audit
assert m["source_date_epoch"] == epoch
assert m["kiln_version"]
assert m["ansible_version"].startswith("ansible-playbook [core "), m["ansible_version"]
print("manifest ok:", len(m["packages"]), "packages")
PY

step "the SBOM is valid CycloneDX 1.5 and lists every package with a purl"
# The rest of this test does not need the schemas: without them, only this check is skipped.
if cyclonedx_schema "$WORK/cyclonedx"; then
  /usr/bin/python3 "$SOURCE_DIR/tests/integration/validate_cyclonedx.py" \
    "$WORK/cyclonedx/package/res/schema" "$OUT/sbom.cdx.json" || fail "the SBOM does not validate"
fi
python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
bom = json.load(open(os.path.join(out, "sbom.cdx.json")))
m = json.load(open(os.path.join(out, "manifest.json")))
purls = {c["name"]: c for c in bom["components"] if c.get("purl")}
assert len(purls) == len(m["packages"]), (len(purls), len(m["packages"]))
git = purls["git"]
assert git["purl"].startswith("pkg:deb/debian/git@1%3A2.39") and "distro=debian-12" in git["purl"], git
assert git["licenses"][0]["license"]["id"] == "GPL-2.0-only", git["licenses"]
licensed = sum(1 for c in purls.values() if "licenses" in c)
files = [c for c in bom["components"] if c["type"] == "file"]
assert files and files[0]["hashes"][0]["content"] == m["artifacts"][0]["sha256"]
print("sbom ok: %d packages, %d with a license, %d artifact" % (len(purls), licensed, len(files)))
PY

step "report.html: self-contained, renders in Chromium without console errors, shows the tests"
# First, that a console error would be seen at all.
printf '<html><body><script>throw new Error("kiln-render-check")</script></body></html>' \
  >"$WORK/broken.html"
render_page "$WORK/broken.html" "$WORK/broken.dom"
expect_in "$WORK/broken.dom.console" "kiln-render-check"
if grep -qE '(src|href)=' "$OUT/report.html"; then fail "report.html refers to other files"; fi
render_page "$OUT/report.html" "$WORK/report.dom"
[ ! -s "$WORK/report.dom.console" ] || { cat "$WORK/report.dom.console"; fail "console messages"; }
expect_in "$WORK/report.dom" '<table id="tests">'
[ "$(grep -o '<td class="pass">pass</td>' "$WORK/report.dom" | wc -l)" = 12 ] ||
  fail "the page's test table should show 12 passed tests"
expect_in "$WORK/report.dom" '<svg id="timings"'
expect_in "$WORK/report.dom" "CycloneDX 1.5"

step "the tar: order, owners, times, contents, generalized"
zstd -dc "$OUT/rootfs.tar.zst" | python3 -c '
import sys, tarfile
epoch = int(sys.argv[1])
tar = tarfile.open(fileobj=sys.stdin.buffer, mode="r|")
names, entries = [], {}
for e in tar:
    names.append(e.name)
    entries[e.name] = e
    assert e.mtime <= epoch, (e.name, e.mtime)
    assert e.uname == "" and e.gname == "", (e.name, e.uname)
assert names == sorted(names, key=lambda n: n.split("/")), "entries are not in sorted tree order"
assert not [n for n in names if n.startswith("dev/")], "dev/ is not empty"
profile = entries["etc/profile.d/agent-env.sh"]
assert (profile.mode, profile.uid, profile.gid) == (0o644, 0, 0), oct(profile.mode)
assert entries["opt/agent-tools/bin/agent-healthcheck"].mode == 0o755
assert entries["opt/agent-tools/README"].isfile()
assert entries["home/azdo"].uid == 1001
assert "etc/azdo-agent-release" in entries
assert entries["opt/azdo/.proxy"].uid == 1001
assert entries["opt/azdo/_diag"].mode == 0o750
assert entries["etc/logrotate.d/azdo-agent"].isfile()
assert entries["opt/agent-tools/LICENSE.txt"].isfile()
assert "etc/apt/apt.conf.d/80kiln-proxy" in entries
assert not [n for n in names if "tools-license.enc" in n], "the encrypted licence was left"
assert "usr/sbin/policy-rc.d" not in entries, "policy-rc.d left in the image"
assert "etc/passwd-" not in entries
assert not [n for n in names if n.startswith("var/lib/apt/lists/") and n.endswith("_Packages")]
assert not [n for n in names if n.startswith("var/cache/apt/archives/") and n.endswith(".deb")]
assert not [n for n in names if n.startswith("tmp/") and n != "tmp/"]
mid = entries.get("etc/machine-id")
assert mid is None or mid.size == 0
print("tar ok:", len(names), "entries")
' "$EPOCH"
zstd -dc "$OUT/rootfs.tar.zst" | tar -xOf - etc/passwd | grep '^azdo:x:1001:' >/dev/null || fail "azdo user missing"
zstd -dc "$OUT/rootfs.tar.zst" | tar -xOf - opt/agent-tools/LICENSE.txt 2>/dev/null |
  grep '^Seats: 50 build agents$' >/dev/null || fail "the licence was not decrypted"
zstd -dc "$OUT/rootfs.tar.zst" | tar -xOf - opt/azdo/.proxy 2>/dev/null |
  grep -x 'http://proxy.corp.example:3128' >/dev/null || fail "the agent's proxy is not set"
zstd -dc "$OUT/rootfs.tar.zst" | tar -xOf - etc/environment 2>/dev/null |
  grep '^http_proxy="http://proxy.corp.example:3128"' >/dev/null || fail "/etc/environment has no proxy"

step "a second bake with the same epoch is byte-identical"
expect_exit 0 -- env SOURCE_DATE_EPOCH=$EPOCH "$KILN" build "$EXAMPLE/image.yaml" --out "$WORK/out2" --json
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["manifest"]["name"]=="linux-agent"' "$WORK/out"
first=$(sha256sum <"$OUT/rootfs.tar.zst"); second=$(sha256sum <"$WORK/out2/rootfs.tar.zst")
echo "first:  $first"; echo "second: $second"
[ "$first" = "$second" ] || fail "two bakes of the same definition differ"
cmp "$OUT/manifest.json" "$WORK/out2/manifest.json" || fail "the manifests differ"
python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["packages"]; missing=[x["name"] for x in p if len(x.get("sha256",""))!=64]; assert not missing, missing' "$OUT/manifest.json"

step "published signed, promoted and pulled, the example is the baked image and passes its tests"
export KILN_STORE="$WORK/store"
expect_exit 0 -- "$KILN" key generate --dir "$WORK" --name release
expect_exit 0 -- "$KILN" publish "$OUT" --key "$WORK/release.key"
expect_exit 0 -- "$KILN" promote linux-agent@1.1.0 --to staging
expect_exit 0 -- "$KILN" promote linux-agent@1.1.0 --to prod
expect_exit 0 -- "$KILN" verify linux-agent@prod --public-key "$WORK/release.pub"
expect_exit 0 -- "$KILN" pull linux-agent@prod --to "$WORK/pulled" --public-key "$WORK/release.pub"
diff -r -x .kiln.lock "$OUT" "$WORK/pulled" || fail "the pulled image differs"
expect_exit 0 -- "$KILN" test "$WORK/pulled"
echo "PASS"
