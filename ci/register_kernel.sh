#!/usr/bin/env bash
# Register the course kernel inside an environment: `ci/register_kernel.sh [python]`
# (default .venv/bin/python; on conda or Binder, the environment's `python`).
set -euo pipefail
"${1:-.venv/bin/python}" -m ipykernel install --sys-prefix --name scaling-ml-spark \
  --display-name "Python 3.11 (Scaling ML with Spark)" >/dev/null
