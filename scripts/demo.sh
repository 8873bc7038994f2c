#!/usr/bin/env bash
# One command from a fresh clone to the demo: install, build, serve the demo avatar.
# It opens the player in the desktop's browser where there is one, and prints the URL
# (default http://localhost:8080/) everywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[[ -d .tools ]] && export PATH="$PWD/.tools/node_modules/.bin:$PATH"
exec pnpm lipsync serve --port "${PORT:-8080}" --open "$@"
