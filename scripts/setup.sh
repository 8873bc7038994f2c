#!/usr/bin/env bash
# Installs what lipsync needs on a fresh Debian/Ubuntu machine with Node 20+, then builds.
#   bash scripts/setup.sh            # Node packages and build (enough to serve)
#   bash scripts/setup.sh --system   # also Debian packages: ffmpeg, Chromium, Python bits for tests,
#                                    # and what the Python and Go examples need (protoc and its
#                                    # gRPC plugins, grpcio, Go with Debian's gRPC packages)
#                                    # and the recordings of people the quality gate listens to,
#                                    # HAProxy and helm for the deployment tests (deploy/)
#                                    # and livekit-server for the LiveKit tests (scripts/livekit-server.sh),
#                                    # and the Python packages' venv (.venv: python/requirements.txt,
#                                    # pinned, then python/* editable; skipped when nothing changed)
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--system" ]]; then
  # python-matplotlib-data: grace_hopper.jpg, a test face for lipsync avatar build; espeak-ng,
  # flite and sox: speech for lipsync avatar train (and its short run in the tests) and the
  # demo model's training and its tests (libsox-fmt-all: the AMR and GSM codecs of augment.py).
  pkgs=(ffmpeg chromium python3 python3-numpy python3-scipy python3-skimage python3-pil python3-torch python3-onnx
        protobuf-compiler protobuf-compiler-grpc python3-grpcio python3-protobuf
        golang-go protoc-gen-go protoc-gen-go-grpc golang-google-grpc-dev golang-google-protobuf-dev
        golang-github-golang-protobuf-1-5-dev
        python-matplotlib-data espeak-ng libespeak-ng1 flite sox libsox-fmt-all
        # Real human speech for the quality gate (models/realspeech/set.json; never trained on).
        alsa-utils klettres-data asterisk-core-sounds-en-wav asterisk-core-sounds-fr-wav
        # The load balancer in front of several servers (deploy/haproxy/, its integration test).
        haproxy)
  missing=()
  for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if ((${#missing[@]})); then
    sudo=""
    [[ $(id -u) -ne 0 ]] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
  # A second test face: the Mona Lisa (a public-domain painting) from node-opencv's examples.
  # Only the image is taken from the .deb: the package itself does not install beside Node 20.
  if [[ ! -f .cache/test-faces/mona.png ]]; then
    tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download -qq node-opencv >/dev/null 2>&1 && dpkg-deb -x node-opencv_*.deb x) || true
    if [[ -f "$tmp/x/usr/share/doc/node-opencv/examples/files/mona.png" ]]; then
      mkdir -p .cache/test-faces && cp "$tmp/x/usr/share/doc/node-opencv/examples/files/mona.png" .cache/test-faces/
    fi
    rm -rf "$tmp"
  fi
  # helm, for the chart's lint and template tests: no download site is reachable, so it is built
  # from the Go module proxy (Go 1.26: /usr/local/go where Debian's older golang-go is also
  # installed), once per version (deploy/helm/HELM_VERSION) into .cache/tools/helm-VERSION/.
  helm_version=$(cat deploy/helm/HELM_VERSION)
  helm_dir=.cache/tools/helm-$helm_version
  if [[ ! -x $helm_dir/helm ]]; then
    go=go
    [[ -x /usr/local/go/bin/go ]] && go=/usr/local/go/bin/go
    echo "building helm $helm_version from the Go module proxy (once; a few minutes)"
    rm -rf "$helm_dir.partial"
    GOBIN="$PWD/$helm_dir.partial" GOFLAGS=-modcacherw "$go" install -trimpath -ldflags="-s -w" "helm.sh/helm/v3/cmd/helm@$helm_version"
    rm -rf "$helm_dir" && mv "$helm_dir.partial" "$helm_dir"
  fi
  # livekit-server for the LiveKit room tests (docs/livekit.md): built from the Go module proxy,
  # pinned, cached under .cache/tools by version (a few minutes once, then nothing).
  bash scripts/livekit-server.sh >/dev/null
  # The Python client, LiveKit plugin and Pipecat service (python/) and their tests: a venv of
  # the Python 3.11 on PATH (not Debian's /usr/bin/python3, whose torch is for training). A stamp
  # of the requirements and the packages' metadata makes a second run a no-op.
  py_stamp=$(cat python/requirements.txt python/*/pyproject.toml | sha256sum | cut -c1-16)
  if [[ "$(cat .venv/.lipsync-stamp 2>/dev/null)" != "$py_stamp" ]]; then
    [[ -x .venv/bin/python ]] || python3 -m venv .venv
    .venv/bin/python -m pip install -q --disable-pip-version-check -r python/requirements.txt
    # No build isolation: setuptools is pinned above, and nothing more is fetched to build.
    .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation \
      -e python/lipsync -e python/pipecat-lipsync -e python/livekit-plugins-lipsync
    echo "$py_stamp" > .venv/.lipsync-stamp
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
