#!/usr/bin/env bash
# The C example of README.md, compiled and run as a user would (cc, fernn.h, -lfernn): the code
# block after the marker "<!-- c-example -->" is extracted, built with -Werror -pedantic, and run
# on the tiny spec; its own L1 loss must fall to a quarter of where it started.
#   readme_c_example.sh SOURCE_DIR LIBRARY_DIR WORK_DIR
set -euo pipefail
src=$1 libdir=$2 work=$3
mkdir -p "$work"
awk '/<!-- c-example -->/ { marked = 1; next }
     marked && /^```c$/ { inside = 1; next }
     inside && /^```$/ { exit }
     inside { print }' "$src/README.md" > "$work/example.c"
if [ ! -s "$work/example.c" ]; then
  echo "README.md has no C example after <!-- c-example -->" >&2
  exit 1
fi
cc -std=c99 -Wall -Wextra -Werror -pedantic "$work/example.c" -I "$src/runtime/capi" \
  -L "$libdir" -lfernn -Wl,-rpath,"$libdir" -lm -o "$work/example"
"$work/example" "$src/tests/specs/tiny_fernn.json" | tee "$work/output.txt"
awk '/^step/ { if (first == "") first = $NF; last = $NF }
     END { if (first == "" || last > first / 4) { print "L1 " first " -> " last ": did not fall to a quarter"; exit 1 }
           print "L1 " first " -> " last }' "$work/output.txt"
