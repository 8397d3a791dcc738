#!/usr/bin/env bash
# `ci/need.sh PURPOSE COMMAND...`: make sure these commands exist; each is also the name of the
# Debian package that brings it. Missing ones are installed once with apt when running as root
# (CI's machines); otherwise the script says what to install and fails.
set -euo pipefail
purpose=$1
shift
missing=()
for name in "$@"; do
  command -v "$name" >/dev/null || missing+=("$name")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing ${missing[*]} (Debian's packages) for $purpose ..."
  apt-get install -y -qq "${missing[@]}" >/dev/null ||
    { echo "error: could not install ${missing[*]} from Debian's packages (network?)" >&2; exit 1; }
else
  echo "error: $purpose needs ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
