#!/usr/bin/env bash
# Installs what lipsync needs on a fresh Debian/Ubuntu machine with Node 20+, then builds.
#   bash scripts/setup.sh            # Node packages and build (enough to serve)
#   bash scripts/setup.sh --system   # also Debian packages: ffmpeg, Chromium, Python bits for tests,
#                                    # and the recordings of people the quality gate listens to
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--system" ]]; then
  pkgs=(ffmpeg chromium python3 python3-numpy python3-scipy python3-skimage python3-pil python3-torch python3-onnx
        # Real human speech for the quality gate (models/realspeech/set.json; never trained on).
        alsa-utils klettres-data asterisk-core-sounds-en-wav asterisk-core-sounds-fr-wav)
  missing=()
  for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if ((${#missing[@]})); then
    sudo=""
    [[ $(id -u) -ne 0 ]] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi

# pnpm, pinned; a global install where we may, else a local one under .tools/.
if ! command -v pnpm >/dev/null 2>&1 || [[ "$(pnpm --version)" != "12.4.2" ]]; then
  if ! npm install -g pnpm@12.4.2 >/dev/null 2>&1; then
    npm install --prefix .tools -E pnpm@12.4.2 >/dev/null
    export PATH="$PWD/.tools/node_modules/.bin:$PATH"
  fi
fi

# onnxruntime-node's postinstall would fetch CUDA libraries from the network; the CPU runtime
# ships inside the package (docs/gpu.md explains the CUDA install).
export ONNXRUNTIME_NODE_INSTALL=skip
pnpm install --frozen-lockfile
pnpm build
