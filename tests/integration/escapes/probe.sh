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

# The classic double chroot: chroot into a folder without entering it, climb with "..", chroot
# there (perl's chroot, unlike the chroot command, leaves the working folder where it is).
double_chroot() {
  perl -e 'mkdir "/.escape"; chroot "/.escape" or die; chdir ".." for 1 .. 64;
           chroot "." or die; exit(-d $ARGV[0] ? 0 : 1)' "$host_dir"
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
# A device node in the layer (here the kernel's null device) would open a host device.
probe mknod-device sh -c 'mknod /probe-null c 1 3 && echo x > /probe-null'
probe host-loopback timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
probe host-gateway timeout 5 bash -c "exec 3<>/dev/tcp/10.0.2.2/$port"
# A reject route answers at once; without it the connection would go out (or wait).
probe metadata timeout 5 bash -c 'exec 3<>/dev/tcp/169.254.169.254/80'
if timeout 5 bash -c 'exec 3<>/dev/tcp/169.254.169.254/80' 2>&1 | grep -q -i -e unreachable -e 'no route'; then
  echo "ROUTE metadata unreachable"
fi
