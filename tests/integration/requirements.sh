#!/usr/bin/env bash
# requirements: groups and users (shell, ids, supplementary groups), sudo rules checked with
# visudo, authorized keys, network settings (proxy for shell/apt/services, DNS, hosts, a trusted
# CA); a sudo rule that does not parse fails the build at the requirements layer.
. "$(dirname "$0")/lib.sh"
require_root
require_mirror

DEF="$WORK/def"
mkdir -p "$DEF/files"
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=Kiln Test Root CA" \
  -keyout "$WORK/ca.key" -out "$DEF/files/corp-root.pem" 2>/dev/null
KEY="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKilnTestKeyOnly000000000000000000000000 ci@kiln"
write_image() { # write_image SUDO_RULE
  cat >"$DEF/image.yaml" <<YAML
name: requirements-it
version: 0.1.0
base: {bootstrap: {variant: minbase}}
requirements:
  groups:
    - {name: builders, gid: 2100}
  users:
    - name: azdo
      uid: 1001
      shell: /bin/bash
      groups: [builders, docker]
      sudo: "$1"
      authorized_keys: ["$KEY"]
    - {name: svc, uid: 1002, home: /srv/svc}
  network:
    proxy: http://proxy.corp.invalid:3128
    no_proxy: [.corp.invalid, localhost, 127.0.0.1]
    dns: [10.0.0.2, 10.0.0.3]
    search: [corp.invalid]
    hosts:
      - {ip: 10.0.0.5, names: [artifacts.corp.invalid, artifacts]}
    ca_certificates: [files/corp-root.pem]
  storage:
    root_size: 20G
    mounts:
      - {path: /var/lib/docker, size: 50G}
      - {path: /opt/azdo/work, size: 100G, fs: xfs, label: agent-work}
  domain:
    realm: CORP.EXAMPLE.COM
    join_user: svc-join
    computer_ou: OU=Agents,DC=corp,DC=example,DC=com
  security:
    baseline: cis-level1
    waive:
      - {rule: usb-storage, reason: "agents read USB test fixtures"}
steps:
  - name: check
    shell: 'id azdo && test -d /srv/svc && echo "users exist before the steps"'
  - name: undo
    shell: 'sed -i "s/^PASS_MAX_DAYS.*/PASS_MAX_DAYS 99999/" /etc/login.defs'
YAML
}

step "groups, users, sudo and keys in the image"
write_image "ALL=(ALL) NOPASSWD: ALL"
expect_exit 0 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/img"
expect_in "$WORK/err" "[3/7] requirements done"
expect_in "$WORK/out" "security  $WORK/img/security-audit.md (30 pass, 1 fail, 1 waived)"
python3 - "$WORK/img" <<'PY'
import json, sys
out = sys.argv[1]
report = json.load(open(out + "/security-audit.json"))
status = {r["rule"]: (r["status"], r["detail"]) for r in report["rules"]}
assert status["password-max-days"] == ("fail", "/etc/login.defs sets PASS_MAX_DAYS to '99999', not 365"), status["password-max-days"]
assert status["usb-storage"] == ("waived", "agents read USB test fixtures")
assert status["sshd-root-login"][0] == "pass" and status["perms-shadow"][0] == "pass"
assert report["summary"] == {"pass": 30, "fail": 1, "waived": 1}, report["summary"]
manifest = json.load(open(out + "/manifest.json"))
assert manifest["security_audit"] == report["summary"]
storage = manifest["storage"]
assert storage["root_size"] == 20 << 30, storage
assert storage["mounts"][1] == {"path": "/opt/azdo/work", "size": 100 << 30, "fs": "xfs", "label": "agent-work"}, storage
assert "| usb-storage | 1.1.1.9 | waived |" in open(out + "/security-audit.md").read()
PY
expect_in "$WORK/img/logs/04-check.log" "users exist before the steps"
zstd -dc "$WORK/img/rootfs.tar.zst" | python3 -c '
import sys, tarfile
key = sys.argv[1]
tar = tarfile.open(fileobj=sys.stdin.buffer, mode="r|")
files = {}
for e in tar:
    files[e.name] = (e, tar.extractfile(e).read().decode(errors="replace") if e.isfile() else None)
passwd = files["etc/passwd"][1]
assert "azdo:x:1001:1001::/home/azdo:/bin/bash" in passwd, passwd
assert "svc:x:1002:1002::/srv/svc:" in passwd, passwd
group = files["etc/group"][1]
assert "builders:x:2100:azdo" in group, group
assert any(l.startswith("docker:") and l.endswith(":azdo") for l in group.splitlines()), group
sudoers, text = files["etc/sudoers.d/kiln-azdo"]
assert (sudoers.mode, sudoers.uid) == (0o440, 0) and text == "azdo ALL=(ALL) NOPASSWD: ALL\n", text
keys, text = files["home/azdo/.ssh/authorized_keys"]
assert (keys.mode, keys.uid) == (0o600, 1001) and text == key + "\n", text
ssh = files["home/azdo/.ssh"][0]
assert (ssh.mode, ssh.uid) == (0o700, 1001)
proxy = "http://proxy.corp.invalid:3128"
profile = files["etc/profile.d/kiln-proxy.sh"][1]
assert f"export https_proxy=\"{proxy}\"" in profile and "NO_PROXY=\".corp.invalid,localhost,127.0.0.1\"" in profile, profile
assert f"HTTP_PROXY=\"{proxy}\"" in files["etc/environment"][1]
apt = files["etc/apt/apt.conf.d/80kiln-proxy"][1]
assert f"Acquire::http::Proxy \"{proxy}\";" in apt and "Acquire::http::Proxy::localhost \"DIRECT\";" in apt, apt
resolv = files["etc/resolv.conf"][1]
assert "nameserver 10.0.0.2\nnameserver 10.0.0.3\nsearch corp.invalid\n" in resolv, resolv
assert "10.0.0.5 artifacts.corp.invalid artifacts\n" in files["etc/hosts"][1]
assert "usr/local/share/ca-certificates/kiln-1-corp-root.crt" in files
bundle = files["etc/ssl/certs/ca-certificates.crt"][1]
pem = open(sys.argv[2]).read().split("-----")[2].strip()
assert pem.splitlines()[1] in bundle, "the CA is not in the bundle"
assert files["etc/ssh/sshd_config.d/10-kiln-cis-root-login.conf"][1].endswith("PermitRootLogin no\n")
assert "etc/modprobe.d/kiln-cis-usb-storage.conf" not in files, "a waived rule was applied"
assert files["etc/systemd/system/cups.service"][0].linkname == "/dev/null"
assert "\nPASS_MIN_DAYS 1\n" in files["etc/login.defs"][1]
join = files["usr/local/sbin/kiln-domain-join"]
assert join[0].mode == 0o755, oct(join[0].mode)
assert "realm join --unattended --user=svc-join --computer-ou='OU=Agents,DC=corp,DC=example,DC=com' CORP.EXAMPLE.COM < \"$credential\"\n" in join[1], join[1]
assert "credential=/run/kiln/domain-join\n" in join[1]
assert "default_realm = CORP.EXAMPLE.COM" in files["etc/krb5.conf"][1]
wants = files["etc/systemd/system/multi-user.target.wants/kiln-domain-join.service"][0]
assert wants.linkname == "/etc/systemd/system/kiln-domain-join.service"
assert "ConditionPathExists=!/var/lib/kiln/domain-joined" in files["etc/systemd/system/kiln-domain-join.service"][1]
for package in ["realmd", "sssd", "adcli", "krb5-user", "libnss-sss"]:
    assert "var/lib/dpkg/info/" + package + ".list" in files or any(n.startswith("var/lib/dpkg/info/" + package + ":") for n in files), package
fstab = files["etc/fstab"][1]
assert "LABEL=docker /var/lib/docker ext4 defaults,nofail 0 2\n" in fstab, fstab
assert "LABEL=agent-work /opt/azdo/work xfs defaults,nofail 0 2\n" in fstab, fstab
assert files["var/lib/docker"][0].isdir()
shadow = files["etc/shadow"][0]
assert shadow.mode == 0o640, oct(shadow.mode)
' "$KEY" "$DEF/files/corp-root.pem"

step "a changed certificate rebuilds the requirements layer"
cp "$DEF/files/corp-root.pem" "$WORK/saved.pem"
echo "# changed" >>"$DEF/files/corp-root.pem"
expect_exit 0 -- "$KILN" build "$DEF/image.yaml" --explain
grep -qE "^miss +requirements .*network settings changed" "$WORK/out" || { cat "$WORK/out"; fail "no miss for a changed CA"; }
cp "$WORK/saved.pem" "$DEF/files/corp-root.pem"

step "changing a user rebuilds the requirements layer and the steps above it"
sed -i 's/uid: 1002/uid: 1003/' "$DEF/image.yaml"
expect_exit 0 -- "$KILN" build "$DEF/image.yaml" --explain
grep -qE "^miss +requirements .*users changed" "$WORK/out" || { cat "$WORK/out"; fail "no miss for a changed user"; }
grep -qE "^hit +base " "$WORK/out" || fail "the base should stay cached"

step "the image's proxy does not reach kiln's own apt runs, even apt-get update"
mkdir -p "$WORK/proxied"
cat >"$WORK/proxied/image.yaml" <<'YAML'
name: proxied
version: 0.1.0
base: {bootstrap: {variant: minbase}}
requirements:
  network: {proxy: http://proxy.corp.invalid:3128}
steps:
  - shell: 'rm -rf /var/lib/apt/lists/*'
  - packages: [jq]
YAML
expect_exit 0 -- "$KILN" build "$WORK/proxied/image.yaml" --out "$WORK/proxied-out"
expect_in "$WORK/proxied-out/logs/05-packages-2.log" "Setting up jq"

step "a sudo rule that does not parse fails at the requirements layer"
write_image "ALL=(ALL NOPASSWD ALL"
expect_exit 1 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/bad"
expect_in "$WORK/err" "step 3/7 'requirements' failed: the sudo rule for user 'azdo' does not parse: ALL=(ALL NOPASSWD ALL"
expect_in "$WORK/err" "syntax error"
expect_no_image "$WORK/bad"
expect_cache_clean
echo "PASS"
