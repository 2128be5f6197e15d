#!/usr/bin/env bash
# Reports of a built image: the software report (tools by category with the versions their
# commands print, the packages the definition asks for), files.json, and `kiln diff` between two
# builds as text, JSON and Markdown: packages, tools, users, files outside packages, tests.
. "$(dirname "$0")/lib.sh"
require_root
require_mirror

DEF="$WORK/def"
mkdir -p "$DEF"
write_image() { # write_image VERSION PACKAGES EXTRA_SHELL EXTRA_TEST
  cat >"$DEF/image.yaml" <<YAML
name: reports-it
version: $1
base: {bootstrap: {variant: minbase}}
steps:
  - packages: [$2]
  - shell: |
      echo 'pool=linux' > /etc/agent.conf
      $3
tests:
  - {file: /etc/agent.conf}
  $4
report:
  - {name: Tree, command: tree --version, category: Utilities}
  - {name: Missing tool, command: no-such-tool --version}
YAML
}

step "version 1: tree, one user"
write_image 1.0.0 "tree" "useradd --create-home azdo" ""
expect_exit 0 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/v1"
expect_in "$WORK/v1/software-report.md" "# reports-it 1.0.0"
expect_in "$WORK/v1/software-report.md" "- OS: Debian GNU/Linux 12 (bookworm)"
expect_in "$WORK/v1/software-report.md" "| Tree | 2."
expect_in "$WORK/v1/software-report.md" "| Missing tool | not found |"
expect_in "$WORK/v1/software-report.md" "| tree | 2."
python3 - "$WORK/v1" <<'PY'
import json, os, sys
out = sys.argv[1]
report = json.load(open(os.path.join(out, "software-report.json")))
tools = {i["name"]: i["version"] for g in report["tools"] for i in g["items"]}
assert tools["Tree"].startswith("2."), tools
assert [g["category"] for g in report["packages"]] == ["Utilities"], report["packages"]
files = json.load(open(os.path.join(out, "files.json")))
assert files["etc/agent.conf"].startswith("sha256:"), files.get("etc/agent.conf")
assert "usr/bin/tree" not in files, "a package's file is listed as unowned"
m = json.load(open(os.path.join(out, "manifest.json")))
assert any(u["name"] == "azdo" for u in m["users"]), m["users"]
assert m["requested_packages"] == ["tree"], m["requested_packages"]
print("software report ok")
PY

step "version 2: jq instead of tree, another user, a changed file, a new test"
write_image 2.0.0 "jq" "useradd --create-home azdo; useradd --create-home builder; echo 'pool=windows' > /etc/agent.conf" \
  "- {name: jq works, command: jq --version}"
expect_exit 0 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/v2"

step "kiln diff: text"
expect_exit 0 -- "$KILN" diff "$WORK/v1" "$WORK/v2"
expect_in "$WORK/out" "reports-it 1.0.0 -> reports-it 2.0.0"
grep -qE '^  \+ jq 1\.6' "$WORK/out" || fail "jq should be added"
grep -qE '^  - tree 2\.' "$WORK/out" || fail "tree should be removed"
expect_in "$WORK/out" "  + builder uid 1001"
expect_in "$WORK/out" "  ~ /etc/agent.conf"
expect_in "$WORK/out" "  + jq works passed"
grep -qE '^  ~ Tree 2\.[0-9.]+ -> not found$' "$WORK/out" || fail "the Tree tool should be not found"

step "kiln diff: JSON and Markdown"
expect_exit 0 -- "$KILN" diff "$WORK/v1" "$WORK/v2" --json
python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
assert [p["name"] for p in d["packages"]["added"]] == ["jq", "libjq1", "libonig5"], d["packages"]["added"]
assert "/etc/agent.conf" in [f["name"] for f in d["files"]["changed"]], d["files"]
assert d["users"]["added"][0]["name"] == "builder"' "$WORK/out"
expect_exit 0 -- "$KILN" diff "$WORK/v1" "$WORK/v2" --markdown
expect_in "$WORK/out" "## Changes in reports-it 2.0.0 since reports-it 1.0.0"
expect_in "$WORK/out" "| removed | tree |"
expect_in "$WORK/out" "| changed | /etc/agent.conf |"

step "report.html compares with the previous build in the same folder"
expect_exit 0 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/v1"
expect_in "$WORK/v1/report.html" "Changes since the previous build in this folder (reports-it 1.0.0)"
expect_in "$WORK/v1/report.html" "<td>removed</td><td>tree</td>"

step "bad input: a folder without an image"
expect_exit 4 -- "$KILN" diff "$WORK/v1" "$WORK/nothing"
expect_in "$WORK/err" "holds no finished image (no manifest.json)"

step "ok"
