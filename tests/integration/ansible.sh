#!/usr/bin/env bash
# The ansible step: a real ansible-playbook run through the chroot connection. A role installs a
# package and writes a template from facts, extra vars and kiln's own vars; tags pick tasks; a
# secret is readable in the image and on the controller; python3 is removed after the run unless
# kept; a broken playbook fails before the bootstrap; a failed task names itself and its message;
# a change to any file in the playbook folder rebuilds the step.
. "$(dirname "$0")/lib.sh"
require_root
require_mirror
command -v ansible-playbook >/dev/null || skip "ansible is not installed (scripts/setup.sh installs it)"

DEF="$WORK/def"
ROLE="$DEF/ansible/roles/motd"
mkdir -p "$ROLE/tasks" "$ROLE/templates"
TOKEN="ans-$RANDOM-$RANDOM-token"
export KILN_IT_TOKEN="$TOKEN"

cat >"$DEF/ansible/site.yml" <<'YAML'
- hosts: agents
  roles: [motd]
  tasks:
    - name: token is readable in the image
      ansible.builtin.command: test -s /run/secrets/token
      changed_when: false
    - name: token is readable on the controller
      ansible.builtin.assert:
        that: lookup('file', kiln_secrets_dir + '/token') | length > 10
    - name: only with the extra tag
      ansible.builtin.file: {path: /etc/extra-tag, state: touch, mode: "0644"}
      tags: [extra]
YAML
cat >"$ROLE/tasks/main.yml" <<'YAML'
- name: install tree
  ansible.builtin.apt: {name: tree, state: present}
  tags: [motd]
- name: write the motd
  ansible.builtin.template: {src: motd.j2, dest: /etc/motd, mode: "0644"}
  tags: [motd]
YAML
echo 'team {{ owner }}, {{ count }} agents, {{ ansible_distribution }} {{ ansible_distribution_major_version }}, {{ kiln_image }} {{ kiln_version }}' \
  >"$ROLE/templates/motd.j2"

write_image() { # write_image EXTRA_ANSIBLE_YAML
  cat >"$DEF/image.yaml" <<YAML
name: ansible-it
version: 0.3.0
base: {bootstrap: {variant: minbase}}
secrets:
  token: {env: KILN_IT_TOKEN}
steps:
  - name: configure
    secrets: [token]
    ansible:
      playbook: ansible/site.yml
      group: agents
      extra_vars: {owner: platform, count: 3}
      tags: [motd, always]
$1
YAML
}

# unpack OUT DIR: the image's files, for looking at.
unpack() { rm -rf "$2"; mkdir -p "$2"; tar --zstd -xf "$1/rootfs.tar.zst" -C "$2" 2>/dev/null; }

installed() { grep -qx "Package: $2" "$1/var/lib/dpkg/status"; }

step "a playbook with a role, facts, extra vars, tags and a secret"
write_image ""
expect_exit 0 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/img"
expect_not_in "$WORK/err" "No inventory was parsed"
unpack "$WORK/img" "$WORK/root"
expect_in "$WORK/root/etc/motd" "team platform, 3 agents, Debian 12, ansible-it 0.3.0"
[ -x "$WORK/root/usr/bin/tree" ] || fail "the role's package is not installed"
installed "$WORK/root" tree || fail "tree is not in the dpkg database"
[ ! -e "$WORK/root/etc/extra-tag" ] || fail "a task without the selected tags ran"
LOG="$WORK/img/logs/03-configure.log"
expect_in "$LOG" "TASK [motd : write the motd]"
expect_in "$LOG" "ansible-it                 : ok="

step "python3 and python3-apt were only there for the run"
for package in python3 python3-minimal python3.11 python3-apt; do
  if installed "$WORK/root" "$package"; then fail "$package is still installed"; fi
done
[ ! -e "$WORK/root/usr/bin/python3" ] || fail "/usr/bin/python3 is still in the image"
[ -z "$(ls -A "$WORK/root/tmp")" ] || fail "Ansible left files in /tmp: $(ls -A "$WORK/root/tmp")"
[ ! -e "$WORK/root/root/.ansible" ] || fail "Ansible left /root/.ansible"
if grep -rlaF -- "$TOKEN" "$WORK/img" "$KILN_CACHE_DIR/layers"; then fail "the token leaked"; fi

step "an unchanged playbook is cached; an edited role file rebuilds the step"
expect_exit 0 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/img"
expect_in "$WORK/err" "configure (ansible) cached"
echo '# a comment' >>"$ROLE/tasks/main.yml"
expect_exit 0 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/img" --explain
grep -E "^miss +configure .*the playbook folder of ansible/site.yml changed" "$WORK/out" ||
  { cat "$WORK/out"; fail "the edited role should rebuild the step"; }

step "keep_python keeps it"
write_image "      keep_python: true"
expect_exit 0 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/kept"
unpack "$WORK/kept" "$WORK/root"
installed "$WORK/root" python3 || fail "python3 was removed despite keep_python"

step "a task that fails names itself and its message; nothing is left behind"
write_image "  - name: late
    ansible: {playbook: ansible/fail/site.yml}"
mkdir -p "$DEF/ansible/fail"
cat >"$DEF/ansible/fail/site.yml" <<'YAML'
- hosts: kiln
  gather_facts: false
  tasks:
    - name: check the agent pool
      ansible.builtin.command: sh -c 'echo pool linux-42 is missing >&2; exit 3'
YAML
expect_exit 1 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/bad"
expect_in "$WORK/err" "step 4/6 'late' (ansible) failed: task 'check the agent pool' failed: non-zero return code: pool linux-42 is missing"
expect_no_image "$WORK/bad"
expect_cache_clean
expect_nothing_left "$WORK" "$DEF/ansible/" # its playbooks: the example's bake may run meanwhile

step "a playbook that does not parse, or names a missing role, fails before the bootstrap"
printf -- '- hosts: kiln\n  tasks:\n    - name: broken\n      no.such.module: {}\n' \
  >"$DEF/ansible/fail/site.yml"
expect_exit 4 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/bad"
expect_in "$WORK/err" "step 1/6 'inputs' failed: the playbook ansible/fail/site.yml of step 'late' does not pass ansible-playbook --syntax-check"
printf -- '- hosts: kiln\n  roles: [nosuchrole]\n' >"$DEF/ansible/fail/site.yml"
expect_exit 4 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/bad"
expect_in "$WORK/err" "the role 'nosuchrole' was not found"
if grep -q "bootstrap" "$WORK/out"; then fail "the bootstrap started for a broken playbook"; fi

step "a playbook that does not exist is a definition error"
write_image "  - ansible: {playbook: ansible/missing.yml}"
expect_exit 3 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/bad"
expect_in "$WORK/err" "playbook 'ansible/missing.yml' does not exist"

step "ok"
