#!/usr/bin/env bash
# The tree's format: clang-format-19 (.clang-format) for C and C++,
# buildifier for BUILD, .bzl and WORKSPACE files. tools/setup.sh installs
# both (buildifier from the npm registry's @bazel/buildifier, which ships
# the binary).
#
#   tools/style.sh           format the files git tracks, in place
#   tools/style.sh --check   change nothing; list what is not formatted, exit 1 if any
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
check=0
[ "${1:-}" = --check ] && check=1
cf=$(command -v clang-format-19 || true)
bf=$(command -v buildifier || true)
[ -n "$cf" ] || { echo "style.sh: clang-format-19 is not installed (tools/setup.sh installs it)"; exit 2; }
[ -n "$bf" ] || { echo "style.sh: buildifier is not installed (tools/setup.sh installs it)"; exit 2; }
mapfile -t cfiles < <(git ls-files '*.hpp' '*.cc' '*.c' '*.h' | grep -v '^third_party/')
mapfile -t bfiles < <(git ls-files 'BUILD.bazel' '*/BUILD.bazel' '*.bzl' 'WORKSPACE' '*/WORKSPACE' '*.BUILD' | grep -v '^third_party/stubs/')
if [ $check = 0 ]; then
  "$cf" -i "${cfiles[@]}"
  "$bf" -lint=off "${bfiles[@]}"
  exit 0
fi
bad=0
for f in "${cfiles[@]}"; do
  if ! "$cf" --dry-run -Werror "$f" >/dev/null 2>&1; then echo "style.sh: not formatted: $f (run tools/style.sh)"; bad=1; fi
done
if ! out=$("$bf" -mode=check -lint=off "${bfiles[@]}" 2>&1); then
  echo "$out" | sed 's/^/style.sh: not formatted: /'
  bad=1
fi
[ $bad = 0 ] && echo "style.sh: ${#cfiles[@]} C/C++ and ${#bfiles[@]} Bazel files formatted"
exit $bad
