#!/usr/bin/env bash
# Builds and runs examples/go/speak.go offline, in GOPATH mode against Debian's Go packages
# (golang-google-grpc-dev, golang-google-protobuf-dev): no module download.
#   bash examples/go/run.sh [HOST:PORT] [FILE.wav]
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ -d gen/go ]] || pnpm proto:generate:other
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src/github.com/lipsync/lipsync" "$work/src/speak"
ln -s "$PWD/gen" "$work/src/github.com/lipsync/lipsync/gen"
cp examples/go/speak.go "$work/src/speak/"
( cd "$work/src/speak" && GO111MODULE=off GOPATH="$work:/usr/share/gocode" GOFLAGS= go build -o "$work/speak" . )
"$work/speak" "$@"
