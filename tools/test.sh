#!/usr/bin/env bash
# The whole test suite from a fresh clone: installs dependencies, builds, runs ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build.sh
cd build
ctest --output-on-failure -j "$(nproc)" "$@"
