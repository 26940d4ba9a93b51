#!/usr/bin/env bash
# The test command (README's second set-up command; .ci/run calls it):
# installs what is missing, builds every target and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash launch/install-deps.sh --python
bash launch/fetch-model.sh              # all-MiniLM-L6-v2 for the end-to-end tests
export DCFT_REQUIRE_E2E=1               # so a missing model fails instead of skipping
export DCFT_WARNINGS_AS_ERRORS=1        # a warning in the project's own targets fails the build
swift build --build-tests
swift test --skip-build "$@"
