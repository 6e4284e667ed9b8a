#!/usr/bin/env bash
# Makes `import fernn` (and `import fernn.torch`) work for /usr/bin/python3 without PYTHONPATH:
# a fernn.pth file in a site-packages directory names this checkout's python/ folder, as
# `pip install -e` would, and the package loads build/libfernn.so next to it (or
# $FERNN_LIBRARY). As root the file goes into the system site (/usr/local/lib/python3.X/
# dist-packages), otherwise into the user's site. tools/build.sh runs this after building.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
if [ "$(id -u)" -eq 0 ]; then
  site=$(/usr/bin/python3 -c 'import site; print(site.getsitepackages()[0])')
else
  site=$(/usr/bin/python3 -m site --user-site)
fi
mkdir -p "$site"
printf '%s\n' "$root/python" > "$site/fernn.pth.tmp"
mv "$site/fernn.pth.tmp" "$site/fernn.pth"
echo "fernn: /usr/bin/python3 imports fernn from $root/python ($site/fernn.pth)"
