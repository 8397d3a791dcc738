#!/usr/bin/env bash
# Serve the course in JupyterLab on 127.0.0.1, opening the course index.
# PORT (default 8888), TOKEN (default: random) and LAB_IP (default 127.0.0.1; the course image
# sets 0.0.0.0, its container's own interfaces) can be set; extra arguments go to jupyter lab.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-8888}
TOKEN=${TOKEN:-$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(24))')}
args=(--ServerApp.ip="${LAB_IP:-127.0.0.1}" --ServerApp.port="$PORT" --ServerApp.port_retries=0
      --IdentityProvider.token="$TOKEN" --ServerApp.root_dir="$PWD"
      --LabApp.default_url=/lab/tree/index.ipynb)
[ "$(id -u)" = 0 ] && args+=(--allow-root)
echo "The course: http://127.0.0.1:$PORT/lab/tree/index.ipynb?token=$TOKEN"
exec .venv/bin/jupyter lab "${args[@]}" "$@"
