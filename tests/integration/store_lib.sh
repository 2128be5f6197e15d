# Helpers of the store tests: output folders made without a bake.

# make_out DIR VERSION TREE [FAILED_TESTS]: an output folder holding TREE as rootfs.tar.zst.
make_out() {
  local dir=$1 version=$2 tree=$3 failed=${4:-0}
  mkdir -p "$dir/tests"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$tree" -cf - . |
    zstd -q -3 -T2 --no-check -c >"$dir/rootfs.tar.zst"
  local sha
  sha=$(sha256sum "$dir/rootfs.tar.zst" | cut -d' ' -f1)
  cat >"$dir/manifest.json" <<JSON
{"name": "agent", "version": "$version", "kiln_version": "test",
 "outputs": [{"name": "rootfs", "file": "rootfs.tar.zst", "sha256": "$sha"}],
 "tests": {"total": 4, "failed": $failed},
 "definition": {"file": "image.yaml", "sha256": "$(printf 'd%.0s' {1..64})"}}
JSON
  echo '<testsuites tests="4"/>' >"$dir/tests/junit.xml"
}

# A tree of random files: SIZE_MIB of them, from SEED.
make_tree() {
  python3 - "$@" <<'PY'
import os, random, sys
tree, size, seed = sys.argv[1], int(sys.argv[2]), sys.argv[3]
os.makedirs(tree, exist_ok=True)
rng = random.Random(seed)
for i in range(1, size + 1):
    with open(os.path.join(tree, f"file-{i}"), "wb") as f:
        f.write(rng.randbytes(1 << 20))
PY
}

# json_field FILE EXPR: EXPR over the JSON in FILE, as d.
json_field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
