#!/usr/bin/env bash
# Builds docker/Dockerfile without a Docker engine and checks the image: a Debian 12 root made
# with debootstrap stands in for debian:bookworm(-slim); scripts/docker-chroot.py reads the
# Dockerfile and runs each stage's own instructions in it (chroot, private namespaces), then
# starts the image's ENTRYPOINT/CMD as its USER, asks /healthz and /readyz on loopback, runs the
# image's HEALTHCHECK and stops it with its STOPSIGNAL. A Dockerfile that cannot build fails.
#   scripts/docker-check.sh [--no-cache] [--pull] [--keep]     (as root, or through sudo)
# Cache (base root, downloaded packages, layers): $WSGATE_DOCKER_CHECK_CACHE, by default
# ~/.cache/wsgate-docker-check. --no-cache runs every step (CI does); --pull makes the base anew.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  exec sudo --preserve-env=WSGATE_DOCKER_CHECK_CACHE,TMPDIR "$0" "$@"
fi

start=$SECONDS
# What it needs on a fresh Debian 12: debootstrap and its keyring, python3; unshare, nsenter,
# mount and tar are in every Debian install.
missing=()
for p in debootstrap debian-archive-keyring python3; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "=== part: tools ready in $((SECONDS - start)) s"

cache="${WSGATE_DOCKER_CHECK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wsgate-docker-check}"
pid=
cleanup() {
  local rc=$?
  # The Python side removes its work directory and never leaves a mount behind (they live in
  # private mount namespaces); this is for when it was killed outright.
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  local left
  left=$(awk '$5 ~ "^/var/tmp/wsgate-docker-check\\." || $5 ~ "^'"${TMPDIR:-/var/tmp}"'/wsgate-docker-check\\." {print $5}' /proc/self/mountinfo | sort -r)
  for m in $left; do umount -l "$m" || true; done
  echo "=== docker-check: $([ "$rc" -eq 0 ] && echo passed || echo FAILED) in $((SECONDS - start)) s"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

/usr/bin/python3 scripts/docker-chroot.py --cache "$cache" -f docker/Dockerfile "$@" . &
pid=$!
wait "$pid"
