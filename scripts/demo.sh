#!/usr/bin/env bash
# Set up, build (release preset) and run `tern demo` on the embedded default models.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset release -DTERN_UNITY_BUILD="${TERN_UNITY_BUILD:-ON}" >/dev/null
cmake --build --preset release
./build/release/tern demo "$@"
