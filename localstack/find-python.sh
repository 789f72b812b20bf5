#!/usr/bin/env bash
# Prints an interpreter of Python >= 3.12 for LocalStack's virtualenv (it needs one), or nothing.
# Looks at LS_PYTHON, then python3.13/python3.12 on PATH, then pyenv's versions, then /usr/local and /usr.
set -u
candidates=()
[ -n "${LS_PYTHON:-}" ] && candidates+=("$LS_PYTHON")
for name in python3.13 python3.12; do
  p=$(command -v "$name" 2>/dev/null) && candidates+=("$p")
done
pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
for p in "$pyenv_root"/versions/3.13*/bin/python3 "$pyenv_root"/versions/3.12*/bin/python3 \
         /usr/local/bin/python3.13 /usr/local/bin/python3.12 /usr/bin/python3.13 /usr/bin/python3.12; do
  [ -x "$p" ] && candidates+=("$p")
done
for p in "${candidates[@]}"; do
  if "$p" -c 'import sys, venv; assert sys.version_info >= (3, 12)' >/dev/null 2>&1; then
    echo "$p"; exit 0
  fi
done
exit 0
