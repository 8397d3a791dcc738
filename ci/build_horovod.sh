#!/usr/bin/env bash
# Opt-in: build Horovod against the course's torch and install it into .venv (`make horovod`).
# Horovod's last release (0.28.1, 2023) does not build from PyPI against torch 2.x: pip's isolated
# build cannot see torch, and its CMake files ask for C++14 where torch needs C++17. This script
# builds it without isolation, patched to C++17, with gloo only (no MPI, TensorFlow or MXNet).
# The wheel is cached per machine and per torch version, so the build (about 6 min) happens once.
# Its [spark] extra is not installed: it pins pyarrow < 11; `horovod.spark.run` needs only pyspark.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
[ -x "$PY" ] || { echo "error: no course environment yet: run 'make setup' first." >&2; exit 1; }

version=$(sed -n 's/^# *opt-in: *horovod==\([0-9.]*\).*/\1/p' requirements.txt)
[ -n "$version" ] || { echo "error: requirements.txt has no '# opt-in: horovod==X' line." >&2; exit 1; }
if "$PY" -c 'import horovod.torch, horovod.spark' 2>/dev/null; then
  echo "Horovod $version is already installed in .venv."
  exit 0
fi

torch=$("$PY" -c 'import torch; print(torch.__version__.split("+")[0])')
cache=${HOROVOD_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scaling-ml-spark/horovod-$version-torch$torch-cp311}
if ! ls "$cache"/horovod-*.whl >/dev/null 2>&1; then
  for tool in cmake g++ make; do
    command -v "$tool" >/dev/null || { echo "error: building Horovod needs $tool (Debian: apt install cmake g++ make)." >&2; exit 1; }
  done
  echo "Building Horovod $version against torch $torch (once per machine; about 6 min) ..."
  build=$(mktemp -d)
  trap 'rm -rf "$build"' EXIT
  "$PY" -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
    "horovod==$version" -d "$build"
  tar -xzf "$build/horovod-$version.tar.gz" -C "$build"
  source_dir="$build/horovod-$version"
  sed -i 's/CMAKE_CXX_STANDARD 14/CMAKE_CXX_STANDARD 17/' \
    "$source_dir/CMakeLists.txt" "$source_dir/horovod/torch/CMakeLists.txt"
  mkdir -p "$cache"
  HOROVOD_WITH_PYTORCH=1 HOROVOD_WITH_GLOO=1 HOROVOD_WITHOUT_MPI=1 \
  HOROVOD_WITHOUT_TENSORFLOW=1 HOROVOD_WITHOUT_MXNET=1 MAKEFLAGS="-j$(nproc)" \
    "$PY" -m pip wheel --quiet --disable-pip-version-check --no-deps --no-build-isolation \
    "$source_dir" -w "$cache" > "$build/build.log" 2>&1 \
    || { tail -40 "$build/build.log" >&2; echo "error: the Horovod build failed (log above)." >&2; exit 1; }
fi
"$PY" -m pip install --quiet --disable-pip-version-check --no-deps "$cache"/horovod-*.whl
"$PY" -c 'import horovod.torch, horovod.spark'
echo "Horovod $version installed in .venv (wheel cached in $cache)."
