#!/usr/bin/env bash
# Installs what the demo and the test suite need on a fresh Debian machine:
# Debian packages (only when missing), then a virtual environment in .venv
# with this project and its test extras. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

need_apt=()
want() { command -v "$1" >/dev/null 2>&1 || need_apt+=("$2"); }
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
if [ "${1:-}" = "--full" ]; then
  want nginx nginx-light
  [ -f /usr/lib/nginx/modules/ngx_stream_module.so ] || need_apt+=(libnginx-mod-stream)  # nginx h2 pass-through test
  want wrk wrk
  want h2load nghttp2-client
  want prometheus prometheus
  want promtool prometheus
  want podman podman
  want runc runc
  want debootstrap debootstrap
  want openssl openssl
  want curl curl
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if [ "${1:-}" = "--full" ] && [ ! -f /etc/containers/containers.conf ]; then
  # crun fails on these machines (cgroups hybrid mode); raising NPROC is not allowed.
  hard=$(ulimit -Hn); nofile=$(( hard < 20000 ? hard : 20000 ))
  $SUDO mkdir -p /etc/containers
  printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=4096:4096"]\n[engine]\nruntime = "runc"\n' \
    "$nofile" "$nofile" | $SUDO tee /etc/containers/containers.conf >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q --upgrade pip >/dev/null
.venv/bin/pip install -q -e ".[test,speed,backends]"
