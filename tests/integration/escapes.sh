#!/usr/bin/env bash
# A definition can do anything inside its image and nothing outside it: each attempt below once
# reached the build host. Steps are confined (pivot_root, reduced capabilities, no_new_privs,
# seccomp, masked kernel files) and have their own network (no host loopback, no metadata
# service). Run alone with: ctest -L escape
. "$(dirname "$0")/lib.sh"
require_root
require_mirror

# A service on the host's loopback that a step must not reach.
PORT=$((20000 + RANDOM % 20000))
python3 -m http.server --bind 127.0.0.1 "$PORT" --directory "$WORK" >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; cleanup_work' EXIT
HOST_DIR="$WORK/host-only"
mkdir -p "$HOST_DIR"
for _ in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done

step "a shell step tries to leave its image"
DEF="$WORK/probe"
mkdir -p "$DEF/files"
cp "$(dirname "$0")/escapes/probe.sh" "$DEF/files/"
cat >"$DEF/image.yaml" <<YAML
name: escape-it
version: 0.1.0
base: {bootstrap: {variant: minbase}}
steps:
  - name: tools
    packages: [util-linux]
  - file: {src: files/probe.sh, dest: /probe.sh, mode: "0755"}
  - name: probe
    shell: bash /probe.sh "$HOST_DIR" $PORT
YAML
expect_exit 0 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/img"
LOG="$WORK/img/logs/05-probe.log"
[ -f "$LOG" ] || { ls "$WORK/out/logs"; fail "no log of the probe step"; }
grep -E 'PROBE|STATUS' "$LOG"
for name in double-chroot host-dir mount-tmpfs mount-sysfs write-proc-sys read-kcore \
            sysrq-trigger unshare-user unshare-mount host-pid1 mknod-device host-loopback \
            host-gateway metadata; do
  grep -qx "PROBE $name refused" <(sed 's/^.*PROBE/PROBE/' "$LOG") ||
    fail "the step reached past its image: $name"
done
[ ! -e "$HOST_DIR/escaped" ] || fail "the step wrote $HOST_DIR/escaped on the host"
# Only the allowed capabilities (see src/sandbox/confine.cpp), no new privileges, a filter.
expect_in "$LOG" "CapEff:	00000000a00425fb"
expect_in "$LOG" "CapBnd:	00000000a00425fb"
expect_in "$LOG" "NoNewPrivs:	1"
expect_in "$LOG" "Seccomp:	2"
expect_in "$LOG" "ROUTE metadata unreachable"
expect_nothing_left "$WORK" "$HOST_DIR"

step "network: none leaves a step a loopback interface only"
cat >"$DEF/image.yaml" <<YAML
name: escape-it
version: 0.1.0
base: {bootstrap: {variant: minbase}}
steps:
  - name: offline
    network: none
    shell: |
      echo "INTERFACES \$(awk -F: 'NR > 2 {print \$1}' /proc/net/dev | tr -d ' ' | tr '\\n' ' ')"
      if timeout 5 bash -c 'exec 3<>/dev/tcp/10.0.2.2/80' 2>/dev/null; then echo "GATEWAY reached \$((6 * 7))"; fi
YAML
expect_exit 0 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/offline"
expect_in "$WORK/offline/logs/03-offline.log" "INTERFACES lo "
if grep -F "GATEWAY reached 42" "$WORK/offline/logs/03-offline.log"; then fail "network: none reached out"; fi

step "a step cannot put a package into the shared cache for other builds"
cat >"$DEF/image.yaml" <<'YAML'
name: escape-it
version: 0.1.0
base: {bootstrap: {variant: minbase}}
steps:
  - name: poison
    shell: |
      # Once apt has downloaded (and verified) hello, swap in a trojan and forge the lists.
      cat > /opt/plant.sh <<'PLANT'
      #!/bin/sh
      for deb in /var/cache/apt/archives/hello_*.deb; do
        [ -f "$deb" ] || continue
        printf '#!/bin/sh\necho trojan\n' > "$deb"
        sum=$(sha256sum "$deb" | cut -d' ' -f1)
        for f in /var/lib/apt/lists/*_Packages; do
          awk -v sum="$sum" '/^Package: / {p = ($2 == "hello")} p && /^SHA256: / {$0 = "SHA256: " sum} {print}' "$f" >/tmp/forged
          cat /tmp/forged > "$f"
        done
        echo "planted $deb"
      done
      PLANT
      chmod 755 /opt/plant.sh
      echo 'DPkg::Pre-Invoke {"/opt/plant.sh";};' > /etc/apt/apt.conf.d/99plant
  - name: more
    packages: [hello]
YAML
"$KILN" build "$DEF/image.yaml" --out "$WORK/poison" >"$WORK/poison.out" 2>&1 || true
expect_in "$WORK/poison/logs/04-more.log" "planted"
if grep -F "hello_" "$KILN_CACHE_DIR/debs/SHA256SUMS"; then
  fail "a package a step planted (or fetched with forged lists) entered the shared cache"
fi
if ls "$KILN_CACHE_DIR"/debs/hello_* 2>/dev/null; then fail "the step wrote into the shared cache"; fi

if command -v ansible-playbook >/dev/null; then
  step "an Ansible play can neither write nor read the build host"
  printf 'host-only-%s\n' "$RANDOM$RANDOM" >"$HOST_DIR/ansible-secret"
  mkdir -p "$DEF/ansible"
  cat >"$DEF/ansible/site.yml" <<YAML
- hosts: agents
  tasks:
    - name: write a host file from the controller
      ansible.builtin.copy: {content: "written\\n", dest: "$HOST_DIR/ansible-wrote"}
      delegate_to: localhost
      ignore_errors: true
    - name: copy a host file into the image
      ansible.builtin.copy:
        content: "{{ lookup('file', '$HOST_DIR/ansible-secret', errors='ignore') | default('', true) }}"
        dest: /stolen
    - name: read the host's shadow file
      ansible.builtin.copy:
        content: "{{ lookup('file', '/etc/shadow', errors='ignore') | default('', true) }}"
        dest: /stolen-shadow
YAML
  # A callback plugin the playbook folder's ansible.cfg enables: its code runs on the controller
  # as soon as ansible-playbook starts, the syntax check included.
  mkdir -p "$DEF/ansible/callback_plugins"
  printf '[defaults]\ncallback_plugins = ./callback_plugins\ncallbacks_enabled = probe\n' \
    >"$DEF/ansible/ansible.cfg"
  cat >"$DEF/ansible/callback_plugins/probe.py" <<PY
import os
for name in ("callback-wrote-%d" % os.getpid(),):
    try:
        open(os.path.join("$HOST_DIR", name), "w").write("written")
    except OSError:
        pass
from ansible.plugins.callback import CallbackBase
class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "probe"
PY
  cat >"$DEF/image.yaml" <<YAML
name: escape-it
version: 0.1.0
base: {bootstrap: {variant: minbase}}
steps:
  - name: play
    ansible: {playbook: ansible/site.yml, group: agents}
YAML
  "$KILN" build "$DEF/image.yaml" --out "$WORK/play" >"$WORK/play.out" 2>&1 ||
    { cat "$WORK/play.out"; fail "the play did not finish"; }
  [ ! -e "$HOST_DIR/ansible-wrote" ] || fail "a play delegated to localhost wrote a host file"
  if ls "$HOST_DIR"/callback-wrote-* 2>/dev/null; then
    fail "a plugin from the playbook's folder wrote a host file"
  fi
  if zstd -dc "$WORK/play/rootfs.tar.zst" | grep -aF "$(cat "$HOST_DIR/ansible-secret")" >/dev/null; then
    fail "a play copied a host file into the image"
  fi
  zstd -dc "$WORK/play/rootfs.tar.zst" | tar --warning=no-unknown-keyword --wildcards -xO '*stolen-shadow' >"$WORK/shadow"
  if grep -a '^root:' "$WORK/shadow"; then fail "a play copied the host's /etc/shadow into the image"; fi
fi

step "the image's links to host files do not make the manifest describe the host"
printf 'ID=kiln-host-marker\nPRETTY_NAME="kiln host marker"\n' >"$HOST_DIR/os-release"
printf 'Package: kiln-host-marker\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n\n' \
  >"$HOST_DIR/status"
cat >"$DEF/image.yaml" <<YAML
name: escape-it
version: 0.1.0
base: {bootstrap: {variant: minbase}}
steps:
  - name: links
    shell: |
      ln -sf "$HOST_DIR/os-release" /usr/lib/os-release
      ln -sf "$HOST_DIR/os-release" /etc/os-release
      mkdir -p /opt/doc && ln -s "$HOST_DIR" /opt/doc/host
YAML
"$KILN" build "$DEF/image.yaml" --out "$WORK/links" >"$WORK/links.out" 2>&1 || true
if grep -rl "kiln-host-marker" "$WORK/links" 2>/dev/null; then
  fail "OUT describes or holds a host file reached through the image's links"
fi
cat >"$DEF/image.yaml" <<YAML
name: escape-it
version: 0.1.0
base: {bootstrap: {variant: minbase}}
steps:
  - name: status
    shell: 'cp /var/lib/dpkg/status /var/lib/dpkg/status.real; ln -sf "$HOST_DIR/status" /var/lib/dpkg/status'
YAML
"$KILN" build "$DEF/image.yaml" --out "$WORK/status" >"$WORK/status.out" 2>&1 || true
if grep -rl "kiln-host-marker" "$WORK/status" 2>/dev/null; then
  fail "the manifest lists the host's packages through a linked dpkg status"
fi

step "an artifact whose hard link points at a host file is refused; the host file is untouched"
printf 'host-only\n' >"$HOST_DIR/target"
chmod 600 "$HOST_DIR/target"
python3 - "$DEF/files/evil.tar.gz" "$HOST_DIR/target" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1], "w:gz") as tar:
    entry = tarfile.TarInfo("tool/x")
    entry.type = tarfile.LNKTYPE
    entry.linkname = sys.argv[2]
    entry.mode = 0o4755
    tar.addfile(entry)  # size 0: extracted, it would pull the host file's content in
PY
SHA=$(sha256sum "$DEF/files/evil.tar.gz" | cut -d' ' -f1)
cat >"$DEF/image.yaml" <<YAML
name: escape-it
version: 0.1.0
base: {bootstrap: {variant: minbase}}
steps:
  - artifact: {url: "file:files/evil.tar.gz", sha256: $SHA, extract_to: /opt/tool}
YAML
expect_exit 4 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/evil"
expect_in "$WORK/err" "outside the destination"
[ "$(cat "$HOST_DIR/target")" = host-only ] || fail "the host file was rewritten"
[ "$(stat -c '%a %h' "$HOST_DIR/target")" = "600 1" ] || fail "the host file was linked or changed"

step "a file: artifact outside the definition's folder is refused, and its digest never shown"
printf 'host secret\n' >"$HOST_DIR/private"
ln -sf "$HOST_DIR/private" "$DEF/files/innocent"
# An absolute file URL fails when kiln resolves inputs (exit 4); a link beside the definition
# already fails validation (exit 3).
for case in "4 file://$HOST_DIR/private" "3 file:files/innocent"; do
  code=${case%% *} url=${case#* }
  cat >"$DEF/image.yaml" <<YAML
name: escape-it
version: 0.1.0
base: {bootstrap: {variant: minbase}}
steps:
  - artifact: {url: "$url", sha256: $(printf '0%.0s' $(seq 64)), dest: /opt/stolen}
YAML
  expect_exit "$code" -- "$KILN" build "$DEF/image.yaml" --out "$WORK/stolen"
  expect_in "$WORK/err" "outside the definition's folder"
  if grep -F "$(sha256sum "$HOST_DIR/private" | cut -d' ' -f1)" "$WORK/err" "$WORK/out"; then
    fail "kiln printed the digest of a file it may not read"
  fi
done
echo "PASS"
