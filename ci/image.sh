#!/usr/bin/env bash
# Build the course image with Debian's podman, on a machine with no Docker engine and no
# container registry (CI's): `ci/image.sh` (the test calls it; `make image` too).
#   1. the base, once per machine: debootstrap's minimal bookworm with this host's trusted
#      certificates, imported and tagged as debian:bookworm-slim, so `FROM` needs no registry;
#   2. `podman build --pull=never` of docker/Dockerfile, the file users build with Docker;
#      podman keeps its layers, so a rebuild redoes only what changed.
# Containers run with runc and explicit ulimits (docker/containers.conf): crun fails here.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${IMAGE:-scaling-ml-spark:latest}
BASE=docker.io/library/debian:bookworm-slim
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/docker/containers.conf}

base() {
  podman image exists "$BASE" && return
  local rootfs
  rootfs=$(mktemp -d /var/tmp/bookworm.XXXXXX)
  trap 'rm -rf "$rootfs"' RETURN
  echo "Making the base image $BASE with debootstrap (once per machine, about 1-2 min) ..."
  debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >/dev/null ||
    { echo "error: debootstrap could not reach Debian's mirror" >&2; exit 1; }
  mkdir -p "$rootfs/usr/local/share/ca-certificates" "$rootfs/etc/ssl/certs"
  cp -r /usr/local/share/ca-certificates/. "$rootfs/usr/local/share/ca-certificates/"
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | podman import --quiet - "$BASE" >/dev/null
}

ci/need.sh "the image build" podman buildah debootstrap runc
base
echo "Building $IMAGE from docker/Dockerfile ..."
podman build --pull=never --file docker/Dockerfile --tag "$IMAGE" .
podman image prune --force >/dev/null  # the layers no tagged image uses any more
podman image inspect --format "$IMAGE: {{.Size}} bytes" "$IMAGE"
