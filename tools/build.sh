#!/usr/bin/env bash
# Configures and builds fernn (Release) into build/, then makes the Python package importable.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
# The Python package: importable by /usr/bin/python3 without PYTHONPATH.
tools/install_python.sh
