#!/usr/bin/env bash
# Print the path of a Python >= 3.12 interpreter, or fail with a clear message.
# Order: $IRMODELS_PYTHON, python3.13/python3.12 on PATH, pyenv versions, python3 if new enough.
set -euo pipefail
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; }
cands=()
[ -n "${IRMODELS_PYTHON:-}" ] && cands+=("$IRMODELS_PYTHON")
for v in python3.14 python3.13 python3.12; do
  p=$(command -v "$v" 2>/dev/null || true); [ -n "$p" ] && cands+=("$p")
done
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root)
  for p in $(ls -d "$root"/versions/3.1[2-9]*/bin/python3.1[2-9] 2>/dev/null | sort -V); do cands+=("$p"); done
fi
p=$(command -v python3 2>/dev/null || true); [ -n "$p" ] && cands+=("$p")
for c in "${cands[@]}"; do
  if ok "$c"; then echo "$c"; exit 0; fi
done
echo "irmodels needs Python >= 3.12 (PyMC 6 and ArviZ 1 require it); none found. Set IRMODELS_PYTHON=/path/to/python3.12" >&2
exit 1
