#!/usr/bin/env python3
"""Probe: can a step run as the root of a user namespace over kiln's layers, with the layers
keeping their real owners on disk? (ARCHITECTURE.md, "No user namespace for steps, yet".)

The lower layer (a Debian tree owned by host uid 0) and a fresh upper layer are mounted idmapped
to a user namespace whose uid/gid 0 is host 100000; that namespace's root mounts overlayfs of
them (with userxattr) and runs COMMAND chrooted into it. Afterwards the upper layer is left in
WORK/up/upper for inspection (ls -ln, getfattr).

    sudo python3 bench/userns_probe.py LOWER_TREE WORK 'dpkg -i /tmp/x.deb; useradd builder'
"""
import ctypes
import os
import subprocess
import sys
import time

SYS_OPEN_TREE, SYS_MOVE_MOUNT, SYS_MOUNT_SETATTR = 428, 429, 442
OPEN_TREE_CLONE, OPEN_TREE_CLOEXEC = 1, 0o2000000
AT_EMPTY_PATH, AT_FDCWD, MOVE_MOUNT_F_EMPTY_PATH = 0x1000, -100, 0x4
MOUNT_ATTR_IDMAP = 0x100000
CLONE_NEWNS, CLONE_NEWUSER = 0x00020000, 0x10000000
MS_REC, MS_PRIVATE, MS_BIND = 0x4000, 0x40000, 0x1000
libc = ctypes.CDLL(None, use_errno=True)


class MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def check(result, what):
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def idmapped(source, target, userns_fd):
    fd = check(libc.syscall(SYS_OPEN_TREE, AT_FDCWD, source.encode(),
                            OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC), "open_tree " + source)
    attr = MountAttr(MOUNT_ATTR_IDMAP, 0, 0, userns_fd)
    check(libc.syscall(SYS_MOUNT_SETATTR, fd, b"", AT_EMPTY_PATH, ctypes.byref(attr),
                       ctypes.sizeof(attr)), "mount_setattr " + source)
    os.makedirs(target, exist_ok=True)
    check(libc.syscall(SYS_MOVE_MOUNT, fd, b"", AT_FDCWD, target.encode(),
                       MOVE_MOUNT_F_EMPTY_PATH), "move_mount " + target)
    os.close(fd)


def main():
    lower, work, command = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]), sys.argv[3]
    for folder in ("up/upper", "up/work", "merged"):
        os.makedirs(os.path.join(work, folder), exist_ok=True)
    holder = subprocess.Popen(["unshare", "--user", "sleep", "600"])
    time.sleep(0.3)
    with open(f"/proc/{holder.pid}/uid_map", "w") as f:
        f.write("0 100000 65536\n")
    with open(f"/proc/{holder.pid}/setgroups", "w") as f:
        f.write("deny\n")
    with open(f"/proc/{holder.pid}/gid_map", "w") as f:
        f.write("0 100000 65536\n")
    userns = os.open(f"/proc/{holder.pid}/ns/user", os.O_RDONLY)
    start = time.time()
    check(libc.unshare(CLONE_NEWNS), "unshare a mount namespace")
    check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "make mounts private")
    idmapped(lower, os.path.join(work, "m/lower"), userns)
    idmapped(os.path.join(work, "up"), os.path.join(work, "m/up"), userns)
    merged = os.path.join(work, "merged")
    check(libc.setns(userns, CLONE_NEWUSER), "enter the user namespace")
    os.setgid(0)
    os.setuid(0)
    check(libc.unshare(CLONE_NEWNS), "a mount namespace of the user namespace")
    options = (f"lowerdir={work}/m/lower,upperdir={work}/m/up/upper,"
               f"workdir={work}/m/up/work,userxattr")
    check(libc.mount(b"overlay", merged.encode(), b"overlay", 0, options.encode()), "overlayfs")
    print(f"mounts took {time.time() - start:.3f} s", flush=True)
    holder.kill()
    os.chroot(merged)
    os.chdir("/")
    os.execv("/bin/sh", ["sh", "-c", command])


if __name__ == "__main__":
    main()
