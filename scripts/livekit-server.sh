#!/usr/bin/env bash
# Builds livekit-server (the LiveKit SFU, a Go program) from the Go module proxy, pinned, into a
# folder keyed by its version, and prints the binary's path. A second run finds it and skips the
# build. The room tests (docs/livekit.md) and the Python plugin's tests run it with --dev.
#   bash scripts/livekit-server.sh            # build if missing, print the path
#   LIPSYNC_TOOLS_DIR=/somewhere bash scripts/livekit-server.sh
#
# v1.13.5 is the newest release whose go.mod has no replace directives: later ones replace
# pion's webrtc, dtls and ice with LiveKit forks, and `go install module@version` refuses a
# module with replace directives.
set -euo pipefail
cd "$(dirname "$0")/.."

LIVEKIT_SERVER_VERSION=v1.13.5
dir="${LIPSYNC_TOOLS_DIR:-$PWD/.cache/tools}/livekit-server-$LIVEKIT_SERVER_VERSION"
bin="$dir/livekit-server"

if [[ ! -x "$bin" ]]; then
  # The module needs Go 1.26: the machine's own Go (/usr/local/go) before Debian's older golang-go.
  go=go
  [[ -x /usr/local/go/bin/go ]] && go=/usr/local/go/bin/go
  if ! "$go" version >/dev/null 2>&1; then
    echo "livekit-server: Go 1.26 or newer is needed to build it" >&2
    exit 1
  fi
  mkdir -p "$dir"
  tmp=$(mktemp -d "$dir/.build.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "building livekit-server $LIVEKIT_SERVER_VERSION (a few minutes, once)..." >&2
  start=$SECONDS
  # Built at the lowest priority: the build takes both cores for minutes. CGO off: a static
  # binary that does not depend on the machine's C libraries.
  GOBIN="$tmp" CGO_ENABLED=0 GOFLAGS=-buildvcs=false nice -n 19 \
    "$go" install "github.com/livekit/livekit-server/cmd/server@$LIVEKIT_SERVER_VERSION"
  # The module's main package is cmd/server: the binary is called `server`. Renamed into place
  # so that an interrupted build never leaves a half-written binary at the cached path.
  mv "$tmp/server" "$bin"
  echo "built livekit-server in $((SECONDS - start)) s" >&2
fi
echo "$bin"
