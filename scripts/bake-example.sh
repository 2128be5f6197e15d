#!/usr/bin/env bash
# kiln's main job on a fresh Debian 12 machine: install what is missing, build kiln, and bake
# the example Azure DevOps agent image. Run as root (the bake uses namespaces and mounts).
#   ./scripts/bake-example.sh [OUT]          outputs go to OUT (default: out/linux-agent)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
out=${1:-out/linux-agent}
# The example's secret (the key of an encrypted licence file): a demo value unless you set one.
export AGENT_FEED_TOKEN=${AGENT_FEED_TOKEN:-kiln-example-feed-token}
./build/src/kiln build examples/linux-agent/image.yaml --out "$out"
echo
echo "The image is in $out: rootfs.tar.zst, manifest.json, report.html (open it in a browser),"
echo "sbom.cdx.json, software-report.md, tests/junit.xml, and logs/ for every step."
