#!/usr/bin/env bash
# Makes a stand-in for an official base image from Debian packages, because
# these machines cannot pull from a registry (see shared recipes): the
# project's Dockerfiles are then built unchanged.
#   make_base_image.sh python   -> docker.io/library/python:3.11-slim-bookworm
#   make_base_image.sh nginx    -> docker.io/library/nginx:1.22 (nginx-light)
# Does nothing when the image already exists. ENGINE=docker works too.
set -euo pipefail
kind="${1:-python}"
ENGINE="${ENGINE:-podman}"
case "$kind" in
  python) tag="docker.io/library/python:3.11-slim-bookworm"; include="python3,python3-venv,ca-certificates" ;;
  nginx)  tag="docker.io/library/nginx:1.22"; include="nginx-light,ca-certificates" ;;
  *) echo "usage: $0 python|nginx" >&2; exit 2 ;;
esac
if "$ENGINE" image exists "$tag" 2>/dev/null || "$ENGINE" image inspect "$tag" >/dev/null 2>&1; then
  echo "base image $tag exists"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "required tool 'debootstrap' is not installed" >&2; exit 1; }
MIRROR=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
root=$(mktemp -d /var/tmp/skitai-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase --include="$include" bookworm "$root" "$MIRROR" >/dev/null
# slim like the official images: no apt lists, docs or man pages
rm -rf "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/var/cache/apt/*.bin
if [ "$kind" = nginx ]; then
  # the official nginx image logs to the container's stdout/stderr
  ln -sf /dev/stdout "$root/var/log/nginx/access.log"
  ln -sf /dev/stderr "$root/var/log/nginx/error.log"
  imp=(--change 'CMD ["nginx", "-g", "daemon off;"]' --change 'STOPSIGNAL SIGQUIT')
else
  imp=(--change 'CMD ["python3"]' --change 'ENV LANG=C.UTF-8')
fi
# like the official images: an explicit PATH (an imported image has none)
imp+=(--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
tar -C "$root" -c . | "$ENGINE" import "${imp[@]}" - "$tag" >/dev/null
echo "made base image $tag"
