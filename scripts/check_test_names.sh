#!/usr/bin/env bash
# Checks that the test files can compile in batches (TERN_UNITY_BUILD=ON) whatever
# the batch: every quick test file, then every long one, in one translation unit,
# syntax only (clang, ~30 s of CPU). A file-local name defined in two files shows up
# as a redefinition or an ambiguous call naming both files; rename one with a prefix
# from its file's name (docs/DESIGN.md, "Build time is CI time").
# Needs the generated TFLite header: run after a configure + build of tern_tflite_schema.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build/release}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
status=0
for kind in test long; do
  unit="$tmp/all_$kind.cpp"
  for f in $(find tests -mindepth 2 -name "${kind}_*.cpp" | LC_ALL=C sort) tests/test_main.cpp; do
    echo "#include \"$PWD/$f\"" >>"$unit"
  done
  if ! clang++ -fsyntax-only -ferror-limit=50 -std=c++20 -DTERN_BINARY_PATH='"x"' -DTERN_SOURCE_DIR='"y"' \
      -DGTEST_HAS_PTHREAD=1 -Itests -Isrc -I"$build/generated" "$unit"; then
    echo "check_test_names: the ${kind}_*.cpp files do not compile as one batch (above)" >&2
    status=1
  fi
done
[ "$status" = 0 ] && echo "check_test_names: every test file's file-local names are unique"
exit "$status"
