#!/usr/bin/env bash
# Create or update the course environment in .venv from requirements.lock (every distribution
# pinned with its hashes), installed by uv, then Spark's Maven packages (Delta Lake, the Kafka
# connector) and Kafka's broker, about 140 MB of jars, into the course's cache
# (sparkcourse/packages.py), so that notebooks start offline.
# Idempotent: does nothing when .venv and the cache already match.
# Bytecode is compiled at install: with PYTHONDONTWRITEBYTECODE set (as on these machines), every
# kernel and Spark worker would otherwise compile each module it imports, every time (2x slower).
#   ci/setup.sh        set up .venv
#   ci/setup.sh lock   regenerate requirements.lock from requirements.txt (`make lock`)
#   ci/setup.sh deps   only the locked distributions (the course image's first, cached layer)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
  echo "error: the course needs Python 3.11 (found: $("$PYTHON" --version 2>&1))." >&2
  echo "Install it, or point PYTHON at it: make PYTHON=/path/to/python3.11 ..." >&2
  exit 1
fi
UV=.venv/bin/uv
offline() {
  echo "error: could not download $1 (message above). The first set-up needs PyPI;" \
       "later ones run from the cache." >&2
  exit 1
}
ensure_uv() {  # a venv with the pinned uv in it, the one tool set-up needs
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  local version
  version=$(sed -n 's/^uv==\([^ ]*\).*/\1/p' requirements.txt)
  [ "$("$UV" --version 2>/dev/null | cut -d' ' -f2)" = "$version" ] ||
    .venv/bin/python -m pip install --quiet --disable-pip-version-check "uv==$version" ||
    offline "uv $version"
}

if [ "${1:-}" = lock ]; then
  ensure_uv
  "$UV" pip compile --quiet --universal --generate-hashes --python-version 3.11 \
    requirements.txt -o requirements.lock || offline "the package index"
  echo "requirements.lock regenerated from requirements.txt."
  exit 0
fi

sync_lock() {
  "$UV" pip sync --quiet --require-hashes --compile-bytecode --python .venv/bin/python requirements.lock ||
    offline "the course's packages"
}
if [ "${1:-}" = deps ]; then
  ensure_uv
  sync_lock
  exit 0
fi

"$PYTHON" sparkcourse/java.py >/dev/null  # exits with what to install if Java is missing or < 17
"$PYTHON" ci/lock.py                       # exits if requirements.txt changed without `make lock`
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)
stamp=.venv/.course-environment
fetch_spark_packages() {  # Spark's Maven packages (Delta, Kafka) and the broker into the course's cache, once
  .venv/bin/python -m sparkcourse.packages
}
if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  fetch_spark_packages
  exit 0
fi
echo "Setting up the course environment in .venv (first time: a few minutes) ..."
ensure_uv
sync_lock
"$UV" pip install --quiet --python .venv/bin/python --no-deps -e . ||
  offline "setuptools (to install sparkcourse)"
ci/register_kernel.sh .venv/bin/python
echo "$want" > "$stamp"
fetch_spark_packages
echo "Course environment ready."
