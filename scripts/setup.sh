#!/usr/bin/env bash
# Installs what kiln needs on Debian 12 and builds it into build/. Used by bake-example.sh and
# test.sh, which share the one build (same flags: a second command compiles only what is new);
# safe to run again (it installs only what is missing).
#   ./scripts/setup.sh               what kiln needs to build and run; builds the kiln binary
#   ./scripts/setup.sh --tests       also what the tests need; builds the unit tests too
#   BUILD_TYPE=Debug ./scripts/setup.sh      another build type (default RelWithDebInfo)
#   KILN_CMAKE_ARGS="-DKILN_SANITIZE=ON"      extra CMake options
set -euo pipefail
cd "$(dirname "$0")/.."
TESTS=0
[ "${1:-}" = "--tests" ] && TESTS=1

PACKAGES=(
  # build
  g++ cmake ninja-build pkg-config
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libfmt-dev libssl-dev
  libcurl4-openssl-dev libarchive-dev libzstd-dev libgtest-dev libsqlite3-dev libseccomp-dev
  libext2fs-dev libtinyxml2-dev libgit2-dev
  # run: the base tree, archives, git facts for the manifest
  mmdebstrap zstd ca-certificates git
  # the steps' own network namespace: outbound access only
  slirp4netns
  # the ansible step: ansible-playbook and the community.general.chroot connection; socat
  # carries Ansible's SSH to a VM builder's machine
  ansible socat
  # the disk outputs (partition table, EFI system partition, conversion) and booting them
  fdisk dosfstools mtools qemu-utils qemu-system-x86 ovmf
  # the benchmark and the tests read the outputs back, check processes, make a test CA
  python3 curl tar procps util-linux openssl bc
)
TEST_PACKAGES=(
  # the tar readers a rootfs must suit: bsdtar, and umoci for Go's archive/tar (as docker import)
  libarchive-tools umoci
  # the SBOM test: jsonschema, with CycloneDX's schemas from the npm registry (npm comes with
  # the machine's Node.js)
  python3-jsonschema
  # the report page test renders OUT/report.html in headless Chromium
  chromium
  # the S3 tests: the AWS CLI reads back what kiln wrote; s3rver comes from the npm registry
  # (tests/servers/s3.sh), with the npm of the machine's Node.js or else Debian's
  awscli
)
command -v npm >/dev/null || TEST_PACKAGES+=(npm)
[ "$TESTS" = 1 ] && PACKAGES+=("${TEST_PACKAGES[@]}")

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Warnings are errors for every build (kiln builds clean with Debian 12's g++), so that the bake
# and the tests share one configuration.
# shellcheck disable=SC2086
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" -DKILN_WERROR=ON \
  ${KILN_CMAKE_ARGS:-}
if [ "$TESTS" = 1 ]; then
  cmake --build build
else
  cmake --build build --target kiln
fi
