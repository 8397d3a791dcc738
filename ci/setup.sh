#!/usr/bin/env bash
# Create or update the course environment in .venv. Idempotent: does nothing when the
# installed environment already matches requirements.txt and pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
  echo "error: the course needs Python 3.11 (found: $("$PYTHON" --version 2>&1))." >&2
  echo "Install it, or point PYTHON at it: make PYTHON=/path/to/python3.11 ..." >&2
  exit 1
fi
"$PYTHON" sparkcourse/java.py >/dev/null  # exits with what to install if Java is missing or < 17

want=$(cat requirements.txt pyproject.toml | sha256sum | cut -c1-16)
stamp=.venv/.course-environment
if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
echo "Setting up the course environment in .venv (first time: a few minutes) ..."
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -e .
ci/register_kernel.sh .venv/bin/python
echo "$want" > "$stamp"
echo "Course environment ready."
