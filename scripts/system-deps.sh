#!/usr/bin/env bash
# Installs the Debian packages the tests and the engines need, when they are missing.
# Idempotent and quiet when everything is already there. Needs root (or sudo) and Debian's apt.
set -euo pipefail

PACKAGES=(
  chromium                 # Playwright drives Debian's Chromium (never a downloaded browser)
  postgresql               # the shared-deployment database, tested for real
  slurm-wlm munge          # a real single-node Slurm cluster on localhost
  python3-distributed      # Dask scheduler and workers (Debian's /usr/bin/python3)
  python3-numpy
  openssh-server openssh-client  # the SSH transport to a login node, tested against a real sshd
  voms-clients globus-proxy-utils scitokens-cpp openssl  # real X509 proxies and SciTokens in tests
  procps psmisc bzip2 tar
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
echo "[system-deps] installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# Services must not start on install (no systemd here; tests start their own daemons).
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  REMOVE_POLICY=1
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if [ "${REMOVE_POLICY:-0}" = "1" ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi
echo "[system-deps] done"
