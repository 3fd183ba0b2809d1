#!/usr/bin/env bash
# Set up, build (release preset) and run the whole test suite through ctest:
# the quick suite plus the `long` label on small settings (TERN_LONG_SCALE=small).
# Every reference must be present (TERN_REQUIRE_REFERENCES=1, set
# TERN_REQUIRE_REFERENCES=0 to let a missing one skip) and any skipped test
# fails the run (scripts/ctest_strict.sh), which also prints the ISA paths tested.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset release -DTERN_UNITY_BUILD="${TERN_UNITY_BUILD:-ON}" >/dev/null
cmake --build --preset release
TERN_LONG_SCALE="${TERN_LONG_SCALE:-small}" bash scripts/ctest_strict.sh release "$@"
