#!/usr/bin/env bash
# Benchmarks kiln's disks against their floors, in this one invocation (examples/linux-agent with
# outputs [rootfs, raw, qcow2]):
#   1. disk assembly: the time kiln's raw exporter takes (it prints it in the export log),
#      against `mkfs.ext4 -d` of the same tree (the rootfs tar unpacked) into a file of the same
#      root size; alternating, --disk-rounds times (default 5: the machine is noisy, so the ratio
#      is the median of each round's own ratio);
#   2. boot: power-on to the ready marker under TCG with OVMF and systemd-boot (`kiln test
#      --boot`), against the same kernel and initramfs booted directly (qemu -kernel -initrd, no
#      firmware, no boot loader) on the same root, the same seed and marker; alternating;
#   3. the qcow2's size against rootfs.tar.zst's;
#   4. whether two exports of the same image give byte-identical raw disks (and if not, where
#      they differ), and whether two bakes from empty caches (as two fresh CI agents would make
#      them, the definition in git) give the same tar and disk.
# Needs root and the Debian mirror (it bakes; a warm cache makes it quick).
#
#   ./bench/disk.sh                 each boot twice, the assembly 5 times
#   ./bench/disk.sh --repeat 3 --disk-rounds 9
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
KILN=${KILN:-$ROOT/build/src/kiln}
REPEAT=2
DISK_ROUNDS=5
while [ $# -gt 0 ]; do
  case "$1" in
    --repeat) REPEAT=${2:?--repeat needs a number}; shift 2 ;;
    --disk-rounds) DISK_ROUNDS=${2:?--disk-rounds needs a number}; shift 2 ;;
    *) echo "bench: unknown option $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
[ -x "$KILN" ] || { echo "bench: build kiln first (./scripts/setup.sh)" >&2; exit 1; }
CACHE=${KILN_CACHE_DIR:-/var/cache/kiln}

WORK=$(mktemp -d /var/tmp/kiln-bench-disk-XXXXXX)
QEMU_PID=""
cleanup() { [ -n "$QEMU_PID" ] && kill -9 "$QEMU_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
export AGENT_FEED_TOKEN=kiln-example-feed-token
cp -r "$ROOT/examples/linux-agent" "$WORK/def"
sed -i 's/^outputs: \[rootfs\]/outputs: [rootfs, raw, qcow2]/' "$WORK/def/image.yaml"
OUT="$WORK/out"

export_again() { # drops the cached exports and bakes: the layers are cached, the export runs
  rm -rf "$CACHE"/exports/*
  "$KILN" build "$WORK/def/image.yaml" --out "$OUT" >/dev/null 2>"$WORK/build.err" ||
    { cat "$WORK/build.err"; exit 1; }
  sed -n 's/.*disk.raw: .* written in \([0-9.]*\) s.*/\1/p' "$OUT"/logs/*-export.log
  sed -n 's/.*disk.raw: .* (\([0-9.]*\) s), written in.*/\1/p' "$OUT"/logs/*-export.log >>"$WORK/kiln-hash"
  sed -n 's/.*disk: root file system written in \([0-9.]*\) s.*/\1/p' "$OUT"/logs/*-export.log >>"$WORK/kiln-mkfs"
}

echo "bench: baking $WORK/def (layers from the cache where they are)"
"$KILN" build "$WORK/def/image.yaml" --out "$OUT" >/dev/null 2>"$WORK/build.err" ||
  { cat "$WORK/build.err"; exit 1; }
mkdir "$WORK/tree"
tar --zstd -xpf "$OUT/rootfs.tar.zst" --xattrs --xattrs-include='*' --numeric-owner -C "$WORK/tree"
sfdisk --dump "$OUT/disk.raw" >"$WORK/table"
ROOT_SECTORS=$(awk -F'[=,]' '/name="root"/ {gsub(/ /, "", $4); print $4}' "$WORK/table")
ROOT_BLOCKS=$((ROOT_SECTORS / 8))

median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
seconds_of() { local start end; start=$(date +%s.%N); "$@"; end=$(date +%s.%N); echo "$end - $start" | bc; }

echo "bench: disk assembly, $DISK_ROUNDS rounds"
: >"$WORK/kiln-disk"; : >"$WORK/floor-disk"; : >"$WORK/kiln-hash"; : >"$WORK/kiln-mkfs"
: >"$WORK/ratio-disk"
for _ in $(seq 1 "$DISK_ROUNDS"); do
  kiln_s=$(export_again)
  rm -f "$WORK/floor.img"
  floor_s=$(seconds_of sh -c 'mkfs.ext4 -q -F -b 4096 -d "$1" "$2" "$3" >/dev/null 2>&1' mkfs \
    "$WORK/tree" "$WORK/floor.img" "$ROOT_BLOCKS")
  echo "$kiln_s" >>"$WORK/kiln-disk"; echo "$floor_s" >>"$WORK/floor-disk"
  echo "$kiln_s / $floor_s" | bc -l >>"$WORK/ratio-disk"
  echo "bench:   kiln $kiln_s s, floor $floor_s s"
done
rm -f "$WORK/floor.img"
KILN_DISK=$(median <"$WORK/kiln-disk"); FLOOR_DISK=$(median <"$WORK/floor-disk")
RATIO_DISK=$(median <"$WORK/ratio-disk")
KILN_HASH=$(median <"$WORK/kiln-hash"); KILN_MKFS=$(median <"$WORK/kiln-mkfs")

echo "bench: reproducibility of the raw disk"
cp --sparse=always "$OUT/disk.raw" "$WORK/first.raw"
TAR1=$(sha256sum <"$OUT/rootfs.tar.zst")
export_again >/dev/null
TAR2=$(sha256sum <"$OUT/rootfs.tar.zst")
DIFF_BYTES=$(cmp -l "$WORK/first.raw" "$OUT/disk.raw" | wc -l || true)
cmp -l "$WORK/first.raw" "$OUT/disk.raw" | awk '{print $1}' | head -5 >"$WORK/diff-offsets" || true
rm -f "$WORK/first.raw"
# Two bakes as two fresh CI agents would make them: each with an empty cache of its own (packages
# downloaded again), the definition committed in git, whose history sets the epoch as in a
# user's repository.
echo "bench: two bakes from empty caches"
git -C "$WORK/def" init -q
git -C "$WORK/def" add -A
GIT_COMMITTER_DATE=2026-11-01T00:00:00Z git -C "$WORK/def" -c user.name=bench \
  -c user.email=bench@kiln.invalid commit -q -m "the definition" --date=2026-11-01T00:00:00Z
for agent in a b; do
  KILN_CACHE_DIR="$WORK/cold-$agent-cache" "$KILN" build "$WORK/def/image.yaml" \
    --out "$WORK/cold-$agent" >/dev/null 2>"$WORK/build.err" || { cat "$WORK/build.err"; exit 1; }
done
COLD_TAR_A=$(sha256sum <"$WORK/cold-a/rootfs.tar.zst"); COLD_TAR_B=$(sha256sum <"$WORK/cold-b/rootfs.tar.zst")
COLD_DIFF=$(cmp -l "$WORK/cold-a/disk.raw" "$WORK/cold-b/disk.raw" | wc -l || true)
rm -rf "$WORK"/cold-*

# The floor's boot: the kernel and initramfs kiln put on the ESP, straight from the image.
KVER=$(ls "$WORK/tree/boot" | sed -n 's/^vmlinuz-//p' | sort -V | tail -1)
ROOT_UUID=$(blkid -p -o value -s UUID --offset "$(awk -F'[=,]' '/name="root"/ {gsub(/ /, "", $2); print $2 * 512}' "$WORK/table")" "$OUT/disk.raw")
direct_boot() { # prints seconds from qemu start to the marker
  local dir="$WORK/direct" marker="KILN-READY-$RANDOM$RANDOM" start now
  rm -rf "$dir"; mkdir "$dir"
  printf 'instance-id: kiln-boot-test\nlocal-hostname: kiln-test\n' >"$dir/meta-data"
  printf '#cloud-config\nmanage_etc_hosts: true\nruncmd:\n  - [sh, -c, "echo %s > /dev/ttyS0"]\n' "$marker" >"$dir/user-data"
  mkfs.fat -C -n CIDATA "$dir/seed.img" 2048 >/dev/null
  mcopy -i "$dir/seed.img" "$dir/meta-data" "$dir/user-data" ::/
  qemu-img create -q -f qcow2 -b "$OUT/disk.raw" -F raw "$dir/overlay.qcow2"
  start=$(date +%s.%N)
  qemu-system-x86_64 -machine q35 -accel tcg -m 2048 -smp 2 -nographic -monitor none \
    -serial "file:$dir/console.log" -kernel "$WORK/tree/boot/vmlinuz-$KVER" \
    -initrd "$WORK/tree/boot/initrd.img-$KVER" \
    -append "root=UUID=$ROOT_UUID ro console=tty0 console=ttyS0,115200n8" \
    -drive "file=$dir/overlay.qcow2,if=virtio,format=qcow2" \
    -drive "file=$dir/seed.img,if=virtio,format=raw" -nic user,model=virtio-net-pci \
    >"$dir/qemu.log" 2>&1 &
  QEMU_PID=$!
  until grep -aq "$marker" "$dir/console.log" 2>/dev/null; do
    sleep 0.25
    now=$(date +%s.%N)
    if [ "$(echo "$now - $start > 900" | bc)" = 1 ]; then echo "bench: direct boot timed out" >&2; exit 1; fi
  done
  now=$(date +%s.%N)
  kill -9 "$QEMU_PID"; wait "$QEMU_PID" 2>/dev/null || true; QEMU_PID=""
  echo "$now - $start" | bc
}

echo "bench: boot, $REPEAT rounds"
: >"$WORK/kiln-boot"; : >"$WORK/floor-boot"
for _ in $(seq 1 "$REPEAT"); do
  "$KILN" test "$OUT" --boot >"$WORK/boot.out" 2>&1 || { cat "$WORK/boot.out"; exit 1; }
  sed -n 's/^ready after \([0-9.]*\) s$/\1/p' "$WORK/boot.out" >>"$WORK/kiln-boot"
  direct_boot >>"$WORK/floor-boot"
done
KILN_BOOT=$(median <"$WORK/kiln-boot"); FLOOR_BOOT=$(median <"$WORK/floor-boot")

QCOW=$(stat -c %s "$OUT/disk.qcow2"); TAR=$(stat -c %s "$OUT/rootfs.tar.zst")
RAW_USED=$(du -B1 "$OUT/disk.raw" | cut -f1); RAW=$(stat -c %s "$OUT/disk.raw")
echo
echo "| measure | kiln | floor | ratio |"
echo "|---|---|---|---|"
printf '| disk assembly (raw, %s MiB root; medians, ratio: median of the rounds'"'"' ratios) | %.2f s | %.2f s (mkfs.ext4 -d) | %.2f |\n' \
  "$((ROOT_BLOCKS / 256))" "$KILN_DISK" "$FLOOR_DISK" "$RATIO_DISK"
printf '| of which the sha256 of disk.raw (for the manifest) | %.2f s | | |\n' "$KILN_HASH"
printf '| disk assembly without the sha256 | %.2f s | %.2f s | %.2f |\n' \
  "$(echo "$KILN_DISK - $KILN_HASH" | bc -l)" "$FLOOR_DISK" "$(echo "($KILN_DISK - $KILN_HASH) / $FLOOR_DISK" | bc -l)"
printf '| of which mkfs.ext4 -d of the layers (through overlayfs) | %.2f s | %.2f s | %.2f |\n' \
  "$KILN_MKFS" "$FLOOR_DISK" "$(echo "$KILN_MKFS / $FLOOR_DISK" | bc -l)"
printf '| boot to ready, TCG | %.1f s (OVMF, systemd-boot) | %.1f s (-kernel -initrd) | %.2f |\n' \
  "$KILN_BOOT" "$FLOOR_BOOT" "$(echo "$KILN_BOOT / $FLOOR_BOOT" | bc -l)"
printf '| qcow2 against rootfs.tar.zst | %.1f MiB | %.1f MiB | %.2f |\n' \
  "$(echo "$QCOW / 1048576" | bc -l)" "$(echo "$TAR / 1048576" | bc -l)" "$(echo "$QCOW / $TAR" | bc -l)"
printf '| raw disk: size, allocated | %.1f MiB | %.1f MiB | |\n' \
  "$(echo "$RAW / 1048576" | bc -l)" "$(echo "$RAW_USED / 1048576" | bc -l)"
echo
echo "runs: disk $(tr '\n' ' ' <"$WORK/kiln-disk")/ floor $(tr '\n' ' ' <"$WORK/floor-disk")"
echo "runs: boot $(tr '\n' ' ' <"$WORK/kiln-boot")/ floor $(tr '\n' ' ' <"$WORK/floor-boot")"
if [ "$TAR1" = "$TAR2" ]; then echo "two exports: rootfs.tar.zst identical"; else echo "two exports: rootfs.tar.zst differs"; fi
if [ "$COLD_TAR_A" = "$COLD_TAR_B" ]; then echo "two bakes from empty caches: rootfs.tar.zst identical"; else echo "two bakes from empty caches: rootfs.tar.zst differs"; fi
if [ "$COLD_DIFF" = 0 ]; then echo "two bakes from empty caches: disk.raw byte-identical"; else echo "two bakes from empty caches: disk.raw differs in $COLD_DIFF bytes"; fi
if [ "$DIFF_BYTES" = 0 ]; then
  echo "two exports: disk.raw byte-identical"
else
  echo "two exports: disk.raw differs in $DIFF_BYTES bytes; first offsets: $(tr '\n' ' ' <"$WORK/diff-offsets")"
  cat "$WORK/table"
fi
