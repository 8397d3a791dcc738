#!/usr/bin/env bash
# The site's browser test drives Debian's chromium (Playwright's own browser download is not
# reachable from CI's machines): install it once, as root, when missing.
set -euo pipefail
command -v chromium >/dev/null && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing chromium (Debian's package) for the site's browser test ..."
  apt-get install -y -qq chromium >/dev/null ||
    { echo "error: could not install chromium from Debian's packages (network?)" >&2; exit 1; }
else
  echo "error: the site test needs Debian's chromium (sudo apt-get install chromium)" >&2
  exit 1
fi
