#!/usr/bin/env bash
# ctest, failing on any skipped test: ctest itself counts a skip as a pass, so
# a test whose reference is missing would otherwise pass CI unseen. Usage:
#   scripts/ctest_strict.sh PRESET [more ctest arguments]
# Run with TERN_REQUIRE_REFERENCES=1 (the default here) a missing reference is
# already a failure (tests/ref/reference.h); this catches every other skip.
# The only skips allowed are the isa_* reruns that exit 77 because their level
# is this CPU's best or one it lacks (tests/test_main.cpp); they decide the
# "ISA paths tested" line printed at the end.
set -uo pipefail
cd "$(dirname "$0")/.."
preset=$1
shift
export TERN_REQUIRE_REFERENCES="${TERN_REQUIRE_REFERENCES:-1}"

log="build/$preset/ctest_strict.log"
mkdir -p "build/$preset"
ctest --preset "$preset" "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

# ctest's summary: "	 12 - Suite.Name (Skipped)" under "The following tests did not run:".
skipped=$(sed -nE 's/^[[:space:]]+[0-9]+ - ([^ ]+) \((Skipped|Disabled)\)$/\1/p' "$log")
bad_skips=$(printf '%s\n' "$skipped" | grep -vE '^(isa_[a-z0-9]+_quick_suite)?$' || true)
if [ -n "$bad_skips" ]; then
  echo
  echo "FAILED: $(printf '%s\n' "$bad_skips" | wc -l) test(s) skipped (a skip is a test that checked nothing):"
  printf '  %s\n' $bad_skips
  echo "  run one with --gtest_filter=NAME to see why; a missing reference needs scripts/setup.sh"
  rc=1
fi

# Which instruction-set paths ran: the default suite at this CPU's best level,
# plus every isa_* rerun that passed (one that skipped repeated the default).
tern="build/$preset/tern"
if grep -qE 'isa_[a-z0-9]+_quick_suite' "$log" && [ -x "$tern" ]; then
  # The level the default suite ran at (TERN_ISA if the caller forced one, else the best).
  default=$("$tern" info --cpu 2>/dev/null | sed -nE 's/^isa[[:space:]]+active ([a-z0-9]+).*/\1/p')
  supported=$("$tern" info --cpu 2>/dev/null | sed -nE 's/^isa[[:space:]]+active [a-z0-9]+ \(supported:(.*)\)/\1/p')
  echo
  "$tern" info --cpu || true
  paths=()
  for isa in scalar avx2 avx512; do
    if [ "$isa" = "$default" ] || grep -qE "isa_${isa}_quick_suite[ .]+Passed" "$log"; then paths+=("$isa"); fi
  done
  echo
  echo "ISA paths tested: $(printf '%s\n' "${paths[@]}" | paste -sd, | sed 's/,/, /g') (default suite at ${default:-unknown}, isa_* reruns for the others)"
  for isa in $(printf '%s\n' "$skipped" | sed -nE 's/^isa_([a-z0-9]+)_quick_suite$/\1/p'); do
    echo "  isa_${isa}_quick_suite not run separately: ${isa} is this CPU's best level or one it lacks"
  done
  case " ${paths[*]} " in
    *" avx512 "*) ;;
    *) echo "AVX-512 kernels NOT tested on this CPU (supported:${supported:- unknown})" ;;
  esac
fi
exit "$rc"
