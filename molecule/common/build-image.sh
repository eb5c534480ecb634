#!/usr/bin/env bash
# Build a Debian base image with systemd as PID 1 for the molecule scenarios.
#
# No image registry is reachable on our build machines, so the image is made
# locally with debootstrap and `docker import`. It is skipped when it exists.
# Users who can pull a public systemd image set MOLECULE_IMAGE_<RELEASE>
# (see molecule/common/README.md) and never run this.
#
# usage: build-image.sh <bookworm|trixie> [image-name] [full|minimal]
#   full (default): what a provider's server image has (D-Bus, sudo, python3-apt, ...).
#   minimal: debootstrap minbase + python3 and the init system a container
#   boots, nothing else: the roles must install whatever they use.
set -euo pipefail

usage="usage: build-image.sh <bookworm|trixie> [image-name] [full|minimal]"
release="${1:?$usage}"
case "$release" in
  bookworm) number=12 ;;
  trixie) number=13 ;;
  *) echo "build-image.sh: unsupported release '$release' (supported: bookworm, trixie)" >&2; exit 2 ;;
esac
image="${2:-flask-app-debian:${number}}"
variant="${3:-full}"

if docker image inspect "$image" >/dev/null 2>&1; then
  echo "image $image exists, not rebuilding"
  exit 0
fi

# Take the mirror from this machine's own apt sources (a site mirror or a
# proxy on real networks), falling back to Debian's redirector.
mirror="${DEBIAN_MIRROR:-}"
if [[ -z "$mirror" ]]; then
  mirror="$(grep -rhoE '^(URIs:|deb)\s+https?://[^ ]+/debian/?' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
    | awk '{print $2}' | head -n1 || true)"
fi
mirror="${mirror:-http://deb.debian.org/debian}"

if ! command -v debootstrap >/dev/null; then
  echo "build-image.sh: debootstrap is missing; installing it" >&2
  apt-get install -y debootstrap >/dev/null
fi

rootfs="$(mktemp -d /tmp/flask-app-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT

case "$variant" in
  # A plain server has these (sudo for become); python3-apt saves every scenario a slow first apt task.
  full) packages=systemd,systemd-sysv,dbus,sudo,python3,python3-apt,ca-certificates,iproute2,procps ;;
  # systemd only because the container boots it as PID 1, as a real host does.
  minimal) packages=systemd,systemd-sysv,python3 ;;
  *) echo "build-image.sh: unknown variant '$variant'; $usage" >&2; exit 2 ;;
esac
echo "debootstrapping $release ($variant) from $mirror into $rootfs"
debootstrap --variant=minbase --include="$packages" "$release" "$rootfs" "$mirror" >/dev/null

# Containers have no console to log in on; these units only fail or wait there.
for unit in getty@tty1.service systemd-logind.service console-getty.service; do
  ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
done
echo "$release-container" > "$rootfs/etc/hostname"

tar -C "$rootfs" -c . | docker import \
  -c 'CMD ["/lib/systemd/systemd"]' \
  - "$image" >/dev/null
echo "built $image"
