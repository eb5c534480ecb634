#!/usr/bin/env bash
# Print the path of a Python interpreter of one of the given versions, the
# first version that is found winning, for `make venv`.
#
# usage: find-python.sh VERSION...      e.g. find-python.sh 3.13 3.12
#
# For each version it tries, in order: `pythonX.Y` on PATH, then pyenv's
# build of that version ($(pyenv root)/versions/X.Y.*). Each candidate is run:
# a pyenv shim for a version that is installed but not selected exists on PATH
# yet only prints "command not found", so being on PATH proves nothing.
# Exits 1 with a message naming what was tried when no candidate runs.
set -uo pipefail
(($#)) || {
  echo "usage: $0 VERSION..." >&2
  exit 2
}

runs_as() { # runs_as CANDIDATE X.Y: the candidate starts and is Python X.Y
  [[ -x $1 ]] || return 1
  [[ "$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" == "$2" ]]
}

# pyenv's versions, also when pyenv itself is not on PATH (a CI shell).
pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
if command -v pyenv >/dev/null 2>&1; then
  pyenv_root="$(pyenv root 2>/dev/null)"
fi
[[ -d $pyenv_root/versions ]] || pyenv_root=""
shopt -s nullglob

tried=()
for version in "$@"; do
  candidates=()
  on_path="$(command -v "python$version" 2>/dev/null)" && candidates+=("$on_path")
  if [[ -n $pyenv_root ]]; then
    # Newest patch release first (sort -V), e.g. 3.13.1 before 3.13.0.
    builds=("$pyenv_root/versions/$version".*)
    if ((${#builds[@]})); then
      while IFS= read -r dir; do
        candidates+=("$dir/bin/python$version")
      done < <(printf '%s\n' "${builds[@]}" | sort -rV)
    fi
  fi
  for candidate in "${candidates[@]}"; do
    if runs_as "$candidate" "$version"; then
      echo "$candidate"
      exit 0
    fi
    tried+=("$candidate")
  done
  ((${#candidates[@]})) || tried+=("python$version (not on PATH${pyenv_root:+, not in $pyenv_root/versions})")
done

{
  echo "No Python $* found for the controller tools. Tried:"
  printf '  %s\n' "${tried[@]}"
  echo "Install one (apt-get install python3.13-venv on Debian 13, or pyenv install 3.13),"
  echo "or name one: make venv PYTHON=/path/to/python3.13"
} >&2
exit 1
