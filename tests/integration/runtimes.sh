#!/usr/bin/env bash
# Package maintainer scripts still work in the confined sandbox (no CAP_SYS_ADMIN or CAP_MKNOD,
# no_new_privs, seccomp, its own network): a JDK (ca-certificates-java runs java in its
# postinst), Node.js and build-essential bake, and their tests pass in the image.
. "$(dirname "$0")/lib.sh"
require_root
require_mirror

DEF="$WORK/def"
mkdir -p "$DEF"
cat >"$DEF/image.yaml" <<'YAML'
name: runtimes-it
version: 0.1.0
base: {bootstrap: {variant: minbase}}
steps:
  - name: runtimes
    packages: [default-jdk-headless, nodejs, build-essential]
tests:
  - {name: java runs, command: java -version}
  - {name: javac runs, command: javac -version}
  - {name: node runs, command: "node -e 'console.log(6 * 7)'", stdout: '^42'}
  - {name: a C compiler, command: gcc --version}
  - {name: java trusts the CA bundle, command: "test -s /etc/ssl/certs/java/cacerts"}
YAML
step "a JDK, Node.js and build-essential bake confined"
expect_exit 0 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/img"
expect_in "$WORK/out" "(5 passed)"
echo "PASS"
