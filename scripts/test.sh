#!/usr/bin/env bash
# One command from a fresh clone to every test: system packages (Chromium, ffmpeg, Python),
# Node packages, build, then the API lint, the TypeScript suites (unit, integration over
# loopback, end-to-end in Chromium, the model quality gate), the training unit tests and the Python
# packages' tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --system
[[ -d .tools ]] && export PATH="$PWD/.tools/node_modules/.bin:$PATH"
pnpm proto:lint
pnpm typecheck
pnpm test
/usr/bin/python3 -m unittest discover -s training/tests -t . -v
# The Python packages (python/: client, Pipecat service, LiveKit plugin) and their examples,
# against a real server and a real livekit-server on loopback (docs/pipecat.md, docs/livekit-python.md).
.venv/bin/python -m pytest -c python/pytest.ini python
