#!/usr/bin/env bash
# Installs greenlight's build and test dependencies from Debian 12's archive. Idempotent: when
# every package is already installed it changes nothing and makes no network request.
set -euo pipefail

PACKAGES=(
  build-essential cmake git
  libtorch-dev python3-torch python3-numpy python3-cryptography
  libyaml-cpp-dev nlohmann-json3-dev libvalijson-dev
  libboost-test-dev libbenchmark-dev libcurl4-openssl-dev libssl-dev openssl jq
  libcli11-dev zlib1g-dev libsentencepiece-dev sentencepiece libxml2-utils chromium poppler-utils
  clang-14 libclang-rt-14-dev
  slurm-wlm munge
  dataset-fashion-mnist
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
