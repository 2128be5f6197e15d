#!/usr/bin/env bash
# Bootable disks: a definition asking for raw and qcow2 gets kiln's boot layer, a GPT disk with an
# EFI system partition and an ext4 root, and a boot test in QEMU (OVMF, TCG) whose service, port,
# boot_time and command tests run over SSH. Faults: a root_size too small, a guest that never
# signals ready, a disk changed after the build, kiln killed during a boot test, an sshd that
# refuses the key, a kernel package the sources do not offer; none leaves a qemu, an overlay or a
# key behind. Then the VM builder on that disk, published to a store and named by a range: a bake
# over SSH (a package, a user from an Ansible role, a file, a secret, a reboot) whose tests pass, kiln killed or interrupted during one, and
# base disks that are not what the definition says.
. "$(dirname "$0")/lib.sh"
require_root
require_mirror
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86 is not installed"
[ -e /usr/share/OVMF/OVMF_CODE_4M.fd ] || skip "ovmf is not installed"

qemu_count() { pgrep -c qemu-system-x86 || true; }
BEFORE=$(qemu_count)
expect_no_machine_left() {
  [ "$(qemu_count)" = "$BEFORE" ] || { ps -ef | grep '[q]emu-system'; fail "a qemu survived: $1"; }
  if find "$KILN_CACHE_DIR/tmp" -name 'machine-*' 2>/dev/null | grep . ; then
    fail "a machine folder (overlay, key) was left: $1"
  fi
}

# signal_while_booting SIGNAL LOG COMMAND...: runs COMMAND in the background, sends it SIGNAL 3 s
# after its qemu started, checks that no qemu outlives it, and leaves its exit code in $CODE.
signal_while_booting() {
  local signal=$1 log=$2
  shift 2
  "$@" >"$log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 60); do [ "$(qemu_count)" != "$BEFORE" ] && break; sleep 0.5; done
  sleep 3
  kill -"$signal" "$pid"
  CODE=0
  wait "$pid" 2>/dev/null || CODE=$?
  for _ in $(seq 1 20); do [ "$(qemu_count)" = "$BEFORE" ] && break; sleep 0.5; done
  [ "$(qemu_count)" = "$BEFORE" ] || { cat "$log"; fail "qemu outlived kiln after SIG$signal"; }
}

DEF="$WORK/def"
write_image() { # write_image EXTRA_REQUIREMENTS
  mkdir -p "$DEF"
  cat >"$DEF/image.yaml" <<YAML
name: disk-it
version: 0.3.0
base: {bootstrap: {variant: minbase, packages: [python3]}} # python3: the VM bake's Ansible
$1
steps:
  - name: agent
    shell: useradd --create-home --shell /bin/bash azdo
tests:
  - boot: true
  - {service: ssh, active: true}
  - {port: 22}
  - {boot_time: 10m}
  - {name: the agent logs in, command: id -un, as: azdo, stdout: '^azdo$'}
  - {name: fstab mounts the ESP by label, command: grep -q 'LABEL=KILN-ESP /boot/efi' /etc/fstab}
outputs: [rootfs, raw, qcow2]
YAML
}

step "a root_size too small is refused with the size needed"
write_image "requirements: {storage: {root_size: 64M}}"
OUT="$WORK/image"
expect_exit 3 -- "$KILN" build "$DEF/image.yaml" --out "$OUT"
expect_in "$WORK/err" "is too small for the image: its root needs at least"
expect_no_image "$OUT"
[ ! -e "$OUT/disk.raw" ] || fail "a disk was left after a failed build"
expect_cache_clean

step "a disk bakes, boots under OVMF and passes its booted tests"
write_image ""
expect_exit 0 -- "$KILN" build "$DEF/image.yaml" --out "$OUT"
cat "$OUT"/logs/*-kiln-boot.log >"$WORK/boot-layer.log"
expect_in "$WORK/boot-layer.log" "kiln adds linux-image-cloud-amd64"
expect_in "$WORK/out" "qcow2"
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
m = json.load(open(out + "/manifest.json"))
disks = {o["name"]: o for o in m["outputs"] if o.get("format")}
assert set(disks) == {"raw", "qcow2"}, disks
assert disks["raw"]["virtual_size"] == disks["qcow2"]["virtual_size"] > 0
assert m["tests"]["failed"] == 0 and m["tests"]["total"] >= 6, m["tests"]
r = json.load(open(out + "/tests/results.json"))
booted = [t for t in r["tests"] if t.get("step") == "boot"]
assert len(booted) == 5 and all(t["passed"] for t in booted), booted
PY
expect_in "$OUT/tests/junit.xml" "boot"
sfdisk --dump "$OUT/disk.raw" >"$WORK/table"
expect_in "$WORK/table" "label: gpt"
expect_in "$WORK/table" "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
offset=$(awk -F'[=,]' '/name="root"/ {print $2 * 512}' "$WORK/table")
e2fsck -fn "$OUT/disk.raw?offset=$offset" >"$WORK/fsck" 2>&1 || { cat "$WORK/fsck"; fail "e2fsck"; }
[ "$(qemu-img info --output=json "$OUT/disk.qcow2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["format"])')" = qcow2 ]
expect_no_machine_left "after a passing boot test"

step "a rebuild with no change neither writes nor boots the disk again"
sum=$(sha256sum <"$OUT/disk.raw")
expect_exit 0 -- "$KILN" build "$DEF/image.yaml" --out "$OUT"
cat "$OUT"/logs/*-boot-test.log >"$WORK/boot-test.log"
expect_in "$WORK/boot-test.log" "boot test results from the cache"
[ "$(sha256sum <"$OUT/disk.raw")" = "$sum" ] || fail "the disk changed"

step "kiln shell --boot runs a command as root in the booted disk and leaves nothing"
expect_exit 3 -- "$KILN" shell "$OUT" --boot -- sh -c 'id -un; systemctl is-active ssh; exit 3'
expect_in "$WORK/out" "root"
expect_in "$WORK/out" "active"
expect_in "$WORK/err" "on a throwaway overlay"
[ "$(sha256sum <"$OUT/disk.raw")" = "$sum" ] || fail "kiln shell --boot changed the disk"
expect_no_machine_left "after kiln shell --boot"

step "a guest that does not signal ready in time: the console is shown and kept"
expect_exit 1 -- "$KILN" test "$OUT" --boot --boot-timeout 3s
expect_in "$WORK/err" "gave no ready signal within 3 s"
expect_in "$WORK/err" "last lines of the serial console"
[ -e "$OUT/logs/boot-console.log" ] || fail "the console log was not kept"
expect_no_machine_left "after a boot timeout"

step "kiln killed during a boot test leaves no qemu; the next run removes its folder"
signal_while_booting KILL "$WORK/killed.out" "$KILN" test "$OUT" --boot
expect_exit 1 -- "$KILN" test "$OUT" --boot --boot-timeout 1s
expect_no_machine_left "after the run that follows a SIGKILL"

step "Ctrl-C during a boot test stops the machine"
signal_while_booting INT "$WORK/int.out" "$KILN" test "$OUT" --boot
[ "$CODE" = 130 ] || { cat "$WORK/int.out"; fail "kiln test exited $CODE after SIGINT, not 130"; }
expect_no_machine_left "after SIGINT"

VM="$WORK/vm"
mkdir -p "$VM/ansible/roles/builder/tasks" "$VM/files"
cat >"$VM/image.yaml" <<YAML
name: vm-it
version: 0.1.0
builder: vm
base: {disk: $OUT}
secrets:
  token: {env: VM_TOKEN}
steps:
  - name: tools
    packages: [tree]
  - name: builder-user
    ansible: {playbook: ansible/site.yml}
  - name: motd
    file: {src: files/motd, dest: /etc/motd, mode: "0644"}
  - name: marker-unit
    reboot: true
    secrets: [token]
    shell: |
      test -s /run/secrets/token
      printf '[Service]\nType=oneshot\nExecStart=/bin/sh -c "cat /proc/sys/kernel/random/boot_id > /var/lib/marker"\n[Install]\nWantedBy=multi-user.target\n' >/etc/systemd/system/marker.service
      systemctl enable marker.service
  - name: after-reboot
    shell: test -s /var/lib/marker
    tests:
      - {package: tree}
tests:
  - {user: builder, shell: /bin/bash}
  - {user: azdo, shell: /bin/bash}
  - {file: /etc/motd, contains: '^baked in a machine\$'}
  - {name: no secret left, file: /run/secrets/token, exists: false}
  - {name: kiln's login is gone, command: '! getent passwd kiln && ! test -e /home/kiln && ! test -e /etc/sudoers.d/90-cloud-init-users'}
outputs: [rootfs, raw]
YAML
printf -- '- hosts: kiln\n  roles: [builder]\n' >"$VM/ansible/site.yml"
printf -- '- name: the builder user\n  ansible.builtin.user: {name: builder, shell: /bin/bash}\n' \
  >"$VM/ansible/roles/builder/tasks/main.yml"
echo "baked in a machine" >"$VM/files/motd"
export VM_TOKEN=kiln-vm-token-value

step "kiln killed during a VM bake leaves no qemu; Ctrl-C stops one with 130"
signal_while_booting KILL "$WORK/killed.out" "$KILN" build "$VM/image.yaml" --out "$WORK/vm-out"
signal_while_booting INT "$WORK/int.out" "$KILN" build "$VM/image.yaml" --out "$WORK/vm-out"
[ "$CODE" = 130 ] || { cat "$WORK/int.out"; fail "kiln build exited $CODE after SIGINT, not 130"; }
expect_no_machine_left "after SIGINT during a VM bake"
expect_no_image "$WORK/vm-out"

step "--on-error=abort keeps a failed VM bake's disk for kiln shell; --discard removes it"
mkdir -p "$WORK/vm-fail"
cat >"$WORK/vm-fail/image.yaml" <<YAML
name: vm-fail
version: 0.1.0
builder: vm
base: {disk: $OUT}
steps:
  - name: breaks
    shell: echo half-done >/etc/half-done && exit 7
YAML
expect_exit 1 -- "$KILN" build "$WORK/vm-fail/image.yaml" --out "$WORK/vm-fail-out" --on-error=abort
expect_in "$WORK/err" "step 'breaks' in the machine"
expect_in "$WORK/err" "kiln shell $WORK/vm-fail-out boots it"
python3 -c 'import json,sys; k=json.load(open(sys.argv[1])); assert k["machine"] and k["step"] == "vm", k' \
  "$WORK/vm-fail-out/kept.json"
find "$KILN_CACHE_DIR/kept" -name machine.qcow2 | grep -q . || fail "the machine's disk was not kept"
expect_no_machine_left "after a kept VM bake"
expect_exit 0 -- "$KILN" shell "$WORK/vm-fail-out" --discard
[ ! -e "$WORK/vm-fail-out/kept.json" ] || fail "--discard left kept.json"
if find "$KILN_CACHE_DIR/kept" -name machine.qcow2 | grep -q . ; then fail "--discard left the disk"; fi

step "a VM bake on the disk, published and named kiln:disk-it@^0.3: a package, an Ansible role's user, a secret, a reboot; tests pass"
expect_exit 0 -- "$KILN" publish "$OUT" --store "$WORK/store"
sed "s|^base: .*|base: {disk: 'kiln:disk-it@^0.3'}|" "$VM/image.yaml" >"$VM/store.yaml"
expect_exit 0 -- "$KILN" build "$VM/store.yaml" --out "$WORK/vm-out" --store "$WORK/store"
expect_in "$WORK/err" "base kiln:disk-it@^0.3 is disk-it@0.3.0 (range ^0.3) from $WORK/store, pulled and checked"
cat "$WORK/vm-out"/logs/*-vm.log >"$WORK/vm.log"
expect_in "$WORK/vm.log" "rebooting the machine"
expect_in "$WORK/vm.log" "captured"
expect_not_in "$WORK/vm.log" "$VM_TOKEN"
python3 - "$WORK/vm-out" <<'PY'
import json, sys
m = json.load(open(sys.argv[1] + "/manifest.json"))
assert m["base"]["disk"]["builder"] == "vm" and m["base"]["disk"]["image"] == "disk-it 0.3.0", m["base"]
assert m["base"]["disk"]["from_store"]["resolved"] == "disk-it@0.3.0 (range ^0.3)", m["base"]
assert m["tests"]["failed"] == 0 and m["tests"]["total"] == 6, m["tests"]
assert {o["name"] for o in m["outputs"]} == {"rootfs", "raw"}, m["outputs"]
assert "tree" in {p["name"] for p in m["packages"]}
PY
if zstd -dc "$WORK/vm-out/rootfs.tar.zst" | grep -a -q "$VM_TOKEN"; then fail "the secret is in the image"; fi
tar --zstd -tf "$WORK/vm-out/rootfs.tar.zst" >"$WORK/vm-files"
expect_not_in "$WORK/vm-files" "var/lib/cloud/instances"
expect_not_in "$WORK/vm-files" "home/kiln"
expect_no_machine_left "after a VM bake"
expect_exit 0 -- "$KILN" build "$VM/store.yaml" --out "$WORK/vm-out" --store "$WORK/store"
expect_in "$WORK/err" "already pulled"
expect_in "$WORK/err" "vm cached"

step "a disk changed after the build is refused"
printf 'x' | dd of="$OUT/disk.raw" bs=1 seek=4096 conv=notrunc status=none
expect_exit 4 -- "$KILN" test "$OUT" --boot
expect_in "$WORK/err" "does not match the manifest"
expect_no_machine_left "after a refused disk"
expect_exit 4 -- "$KILN" build "$VM/image.yaml" --out "$WORK/vm-out" --refresh all
expect_in "$WORK/err" "no longer matches its image's manifest"
expect_no_machine_left "after a refused base disk"

step "a base disk file whose sha256 differs, or a qcow2 that reads another file, is refused"
sed -i "s|^base: .*|base: {disk: $OUT/disk.raw, sha256: $(printf '0%.0s' $(seq 64))}|" "$VM/image.yaml"
expect_exit 4 -- "$KILN" build "$VM/image.yaml" --out "$WORK/vm-out"
expect_in "$WORK/err" "but 0000000000000000000000000000000000000000000000000000000000000000 was expected"
qemu-img create -q -f qcow2 -b "$OUT/disk.raw" -F raw "$WORK/backed.qcow2"
sed -i "s|^base: .*|base: {disk: $WORK/backed.qcow2, sha256: $(sha256sum <"$WORK/backed.qcow2" | cut -c1-64)}|" "$VM/image.yaml"
expect_exit 4 -- "$KILN" build "$VM/image.yaml" --out "$WORK/vm-out"
expect_in "$WORK/err" "is a qcow2 that reads another file (a backing file)"
expect_no_machine_left "after refused base disks"
step "an image whose sshd refuses kiln's key fails its boot test with that reason"
mkdir -p "$WORK/nokey"
sed 's|^steps:|steps:\n  - name: no-keys\n    shell: mkdir -p /etc/ssh/sshd_config.d \&\& echo "PubkeyAuthentication no" >/etc/ssh/sshd_config.d/50-no-keys.conf|' \
  "$DEF/image.yaml" >"$WORK/nokey/image.yaml"
expect_exit 1 -- "$KILN" build "$WORK/nokey/image.yaml" --out "$WORK/nokey-out"
expect_in "$WORK/err" "the machine refused kiln's SSH key"
expect_in "$WORK/err" "Permission denied"
expect_no_image "$WORK/nokey-out"
expect_no_machine_left "after a refused key"

step "a kernel package the image's sources do not offer: the boot layer says which"
mkdir -p "$WORK/nokernel"
cat >"$WORK/nokernel/image.yaml" <<'YAML'
name: disk-it-nokernel
version: 0.1.0
base: {bootstrap: {variant: minbase}}
steps:
  - name: hide-kernels
    shell: |
      printf 'Package: linux-image-*\nPin: release *\nPin-Priority: -1\n' >/etc/apt/preferences.d/no-kernel
outputs: [rootfs, raw]
YAML
expect_exit 1 -- "$KILN" build "$WORK/nokernel/image.yaml" --out "$WORK/nokernel-out"
expect_in "$WORK/err" "kiln's boot layer could not install linux-image-cloud-amd64"
expect_in "$WORK/err" "has no installation candidate"
expect_no_image "$WORK/nokernel-out"
[ ! -e "$WORK/nokernel-out/disk.raw" ] || fail "a disk was left after a failed build"
expect_cache_clean
echo "disk: all passed"
