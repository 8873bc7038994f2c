#!/usr/bin/env bash
# Lays out what `lipsync serve` needs at run time into TARGET, from a built checkout
# (pnpm install --frozen-lockfile && pnpm build): the built packages, their production
# dependencies (from pnpm's store, offline), the demo avatar and the demo page's sample audio.
# The images run it (deploy/docker/Dockerfile, Dockerfile.cuda); deploy/test/docker.test.ts runs
# it here and serves from the result, which is what can be checked without a container engine.
#   bash deploy/docker/stage.sh /app
set -euo pipefail
target=${1:?usage: stage.sh TARGET}
cd "$(dirname "$0")/../.."
mkdir -p "$target/models"
# Every workspace manifest, so that the lockfile matches the workspace and is used as it is.
cp package.json pnpm-lock.yaml pnpm-workspace.yaml "$target/"
cp -r patches "$target/"
for pkg in packages/* bench fuzz examples deploy; do
  mkdir -p "$target/$pkg"
  cp "$pkg/package.json" "$target/$pkg/"
done
cp -r packages/server/dist packages/server/public "$target/packages/server/"
cp -r packages/proto/dist "$target/packages/proto/"
cp -r packages/web-component/dist "$target/packages/web-component/"
cp -r models/demo models/heldout "$target/models/"
cd "$target"
ONNXRUNTIME_NODE_INSTALL=skip pnpm install --frozen-lockfile --prod --offline --filter "@lipsync/server..." >/dev/null
