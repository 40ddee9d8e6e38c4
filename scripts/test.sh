#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The whole test suite, from a fresh Debian 12 machine (as root): installs what is missing, then
#  1. checks the module dependency graph against docs/architecture.md and the code's formatting,
#  2. builds (debug) and runs ctest: unit tests, the RFC 4475/5118 torture corpus, and the
#     integration tests with real SIP clients (sipsak, sipp) in a private network namespace,
#  3. builds with AddressSanitizer + UndefinedBehaviorSanitizer and runs ctest again,
#  4. gives each libFuzzer target a short run,
#  5. builds everything in release (what scripts/run.sh builds) and runs the benchmark briefly.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="$(nproc)"

bash scripts/install-deps.sh
bash scripts/check-architecture.sh
echo "== format (.clang-format)"
find modules tools bench fuzz tests \( -name '*.cpp' -o -name '*.h' \) -not -path 'fuzz/corpus/*' -print0 |
  xargs -0 clang-format --dry-run --Werror

echo "== debug build and tests"
cmake --preset debug >/dev/null
cmake --build --preset debug -j "$jobs"
ctest --preset debug -j "$jobs"

echo "== asan+ubsan build and tests"
cmake --preset asan-ubsan >/dev/null
cmake --build --preset asan-ubsan -j "$jobs"
ctest --preset asan-ubsan -j "$jobs"

echo "== fuzz smoke"
bash scripts/fuzz-smoke.sh "${P2PSIP_FUZZ_SECONDS:-20}"

echo "== release build of every program, and a benchmark smoke run"
cmake --preset release -DP2PSIP_TESTS=OFF >/dev/null
cmake --build --preset release -j "$jobs"
build/release/bench/sip_parse_bench --benchmark_min_time=0.2 --benchmark_repetitions=5 | tail -n 7
build/release/bench/relay_bench --quick | tail -n 30

echo "test.sh: all stages passed"
