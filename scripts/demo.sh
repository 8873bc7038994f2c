#!/usr/bin/env bash
# One command from a fresh clone to the demo: install, build, serve the demo avatar.
# It opens the player in the desktop's browser where there is one, and prints the URL
# (default http://localhost:8080/) everywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[[ -d .tools ]] && export PATH="$PWD/.tools/node_modules/.bin:$PATH"
# The demo lets pages from any origin use it (the README's snippets, the React and Vue dev
# servers); a real deployment lists its sites with --allow-origin instead.
echo "demo: --allow-origin '*': web pages from any origin may call this server"
# This machine only, unless HOST says otherwise (HOST=0.0.0.0 to show it to another machine:
# anyone on the network can then use it, so add --auth-token TOKEN for anything but a demo).
host="${HOST:-127.0.0.1}"
if [[ "$host" != 127.* && "$host" != "localhost" && "$host" != "::1" ]]; then
  echo "demo: --host $host: the server is open to the network, without a token unless you pass --auth-token"
fi
exec pnpm lipsync serve --port "${PORT:-8080}" --host "$host" --allow-origin '*' --open "$@"
