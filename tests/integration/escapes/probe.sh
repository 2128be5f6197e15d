#!/bin/bash
# Runs inside a step: tries to reach past the image and prints one line per attempt,
# "PROBE name reached" or "PROBE name refused". $1: a folder on the host, $2: a host port on
# 127.0.0.1 that answers.
host_dir=$1 port=$2
probe() { # probe NAME COMMAND...: "reached" when COMMAND succeeds
  local name=$1; shift
  if "$@" >/dev/null 2>&1; then echo "PROBE $name reached"; else echo "PROBE $name refused"; fi
}
grep -E '^Cap(Eff|Bnd)' /proc/self/status | sed 's/^/STATUS /'
grep NoNewPrivs /proc/self/status | sed 's/^/STATUS /'
grep '^Seccomp:' /proc/self/status | sed 's/^/STATUS /'

# The classic double chroot: from a chroot inside the tree, climb above its root.
double_chroot() {
  mkdir -p /.escape
  chroot /.escape /bin/bash -c "cd ../../../../../../../../..; chroot . /bin/sh -c 'test -d \"$host_dir\" && echo escaped > \"$host_dir/escaped\"'"
  test -e "$host_dir/escaped"
}
probe double-chroot double_chroot
probe host-dir test -d "$host_dir"
probe mount-tmpfs mount -t tmpfs none /mnt
probe mount-sysfs mount -t sysfs none /mnt
probe write-proc-sys sh -c 'echo 1 > /proc/sys/kernel/sysrq'
probe read-kcore sh -c 'test "$(head -c 16 /proc/kcore | wc -c)" -gt 0'
probe sysrq-trigger sh -c 'echo h > /proc/sysrq-trigger'
probe unshare-user unshare --user true
probe unshare-mount unshare --mount true
probe host-pid1 sh -c 'tr "\0" " " < /proc/1/cmdline | grep -q -e systemd -e init'
probe mknod-disk sh -c 'mknod /tmp/disk b 8 0 && head -c 1 /tmp/disk'
probe host-loopback timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
probe host-gateway timeout 5 bash -c "exec 3<>/dev/tcp/10.0.2.2/$port"
# A reject route answers at once; without it the connection would go out (or wait).
probe metadata timeout 5 bash -c 'exec 3<>/dev/tcp/169.254.169.254/80'
if timeout 5 bash -c 'exec 3<>/dev/tcp/169.254.169.254/80' 2>&1 | grep -q -i -e unreachable -e 'no route'; then
  echo "ROUTE metadata unreachable"
fi
