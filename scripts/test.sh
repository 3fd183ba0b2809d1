#!/usr/bin/env bash
# Set up, build (release preset) and run the whole test suite through ctest:
# the quick suite plus the `long` label on small settings (TERN_LONG_SCALE=small).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release
TERN_LONG_SCALE="${TERN_LONG_SCALE:-small}" ctest --preset release "$@"
