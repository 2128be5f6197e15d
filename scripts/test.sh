#!/usr/bin/env bash
# Builds kiln and its unit tests (warnings are errors) and runs every test: unit tests, and integration tests that
# run the kiln binary against real Debian trees (those need root and the Debian mirror, and skip
# with the reason when they cannot have them). The S3 tests run against s3rver and a test proxy
# on 127.0.0.1, started here and stopped after (tests/servers/s3.sh); the pipeline files are checked
# by GitHub's workflow parser, installed here from the npm registry (tests/validators/install.sh).
#   ./scripts/test.sh            everything (20 to 30 minutes after bake-example.sh)
#   ./scripts/test.sh -LE slow   the fast tier only (about 100 s)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --tests
. tests/servers/s3.sh
. tests/validators/install.sh
trap s3_servers_stop EXIT
s3_servers_start
validators_install
cd build
ctest --output-on-failure --timeout 1200 -j2 "$@"
