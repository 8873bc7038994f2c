#!/usr/bin/env bash
# The GPU run rehearsed on this machine's CPU: one simulated call per staged part, each from a
# folder holding only the scripts and that part (as a call's working tree would), with a PATH
# that has no node but the stash's, the parts unpacked into a temp dir by the same run.sh, and
# the same measure.sh with --device cpu. What the GPU machine adds is the device alone.
#
#   bash bench/gpu/dryrun.sh [--budget SECONDS]        (after bench/gpu/stage.sh)
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
[ -d .device/gpu/p1 ] || { echo "stage first: bash bench/gpu/stage.sh" >&2; exit 1; }
tmp=$(mktemp -d)
# Every command of /usr/bin and /usr/local/bin but node and its package managers.
mkdir "$tmp/bin"
for f in /usr/local/bin/* /usr/bin/*; do
  n=$(basename "$f")
  case $n in node|nodejs|npm|npx|pnpm|pnpx|corepack|yarn) continue ;; esac
  [ -e "$tmp/bin/$n" ] || ln -s "$f" "$tmp/bin/$n"
done
path=$tmp/bin:/usr/sbin:/sbin
if PATH=$path command -v node >/dev/null; then echo "a node is still on the dry run's PATH" >&2; exit 1; fi
export OUT=${OUT:-$tmp/out}
mkdir -p "$OUT"
t0=$(date +%s)
for part in .device/gpu/p*/; do
  call=$tmp/call-$(basename "$part")
  mkdir -p "$call/bench/gpu" "$call/.device/gpu"
  cp bench/sessions.mjs bench/live.mjs "$call/bench/"
  cp bench/gpu/run.sh bench/gpu/measure.sh bench/gpu/models.mjs "$call/bench/gpu/"
  cp -r "$part" "$call/.device/gpu/"
  echo "== call with carry [\"${part%/}\"]"
  (cd "$call" && env -i HOME="$HOME" PATH="$path" OUT="$OUT" PARTS="$tmp/parts" STASH_ROOT="$tmp" bash bench/gpu/run.sh --device cpu "$@")
  rm -rf "$call"
done
echo "dry run: $(( $(date +%s) - t0 )) s wall in all; results in $OUT"
rm -rf "$tmp/stash" "$tmp/parts" "$tmp/bin"
