#!/usr/bin/env bash
# Prints an interpreter of exactly Python MAJOR.MINOR (the Lambda runtime the project pins in
# .chalice/python-version), or nothing. Looks at python3.X on PATH, pyenv's versions, /usr/local, /usr.
set -u
want=${1:?usage: find-python.sh MAJOR.MINOR}
candidates=()
p=$(command -v "python$want" 2>/dev/null) && candidates+=("$p")
pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
for p in "$pyenv_root"/versions/"$want"*/bin/python3 "/usr/local/bin/python$want" "/usr/bin/python$want"; do
  [ -x "$p" ] && candidates+=("$p")
done
for p in "${candidates[@]}"; do
  if [ "$("$p" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$want" ] \
     && "$p" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    echo "$p"; exit 0
  fi
done
exit 0
