#!/usr/bin/env bash
# The test command (README's second set-up command; .ci/run calls it):
# installs what is missing, builds every target and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash launch/install-deps.sh --python
swift build --build-tests
swift test --skip-build "$@"
