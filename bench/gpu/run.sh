#!/usr/bin/env bash
# The command of every call to the GPU machine (bench/gpu/README.md): it keeps the parts this
# call carried (.device/gpu/pN/) under $PARTS, and once all of them are there (SHA256SUMS, which
# every part folder holds, lists them), unpacks them into $STASH_ROOT and runs the measurement
# (measure.sh), JSON to $OUT. Until then it says which parts are still missing.
#
#   bash bench/gpu/run.sh [measure.sh's options: --device cuda|cpu --budget SECONDS]
#
# PARTS (default /root/lipsync-parts) and STASH_ROOT (default /root) outlive a call only while
# the machine stays warm (30 s after a call): make the calls back to back.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
parts=${PARTS:-/root/lipsync-parts}
dest=${STASH_ROOT:-/root}
mkdir -p "$parts"
for d in .device/gpu/p*/; do
  [ -d "$d" ] || continue
  cp "$d"/part.* "$d"/SHA256SUMS "$parts/"
done
[ -f "$parts/SHA256SUMS" ] || { echo "no part carried: name .device/gpu/pN in carry" >&2; exit 2; }
missing=$(cd "$parts" && awk '{print $2}' SHA256SUMS | while read -r f; do [ -f "$f" ] || echo "$f"; done)
if [ -n "$missing" ]; then
  echo "stored $(ls "$parts" | grep -c '^part\.') of $(wc -l < "$parts/SHA256SUMS") parts; still to carry: $(echo $missing)"
  exit 0
fi
(cd "$parts" && sha256sum -c --quiet SHA256SUMS) || { echo "a part is damaged: carry it again" >&2; exit 3; }
t0=$(date +%s)
rm -rf "$dest/stash"
cat "$parts"/part.* | xz -d -T0 | tar x -C "$dest"
nv=$(python3 -c 'import os, nvidia; print(os.path.dirname(nvidia.__path__[0]))' 2>/dev/null || echo /opt/torch/.venv/lib/python3.12/site-packages)/nvidia
cat > "$dest/stash/env.sh" <<ENV
export PATH=$dest/stash:\$PATH
export LD_LIBRARY_PATH=$nv/cu13/lib:$nv/cudnn/lib:\${LD_LIBRARY_PATH:-}
export LIPSYNC_COMMIT=$(cat "$dest/stash/deploy/COMMIT")
ENV
echo "unpacked in $(( $(date +%s) - t0 )) s"
# This checkout's scripts, so a fix to them needs no new parts.
cp "$here/measure.sh" "$here/models.mjs" "$dest/stash/deploy/bench/gpu/"
cp "$here/../sessions.mjs" "$here/../live.mjs" "$dest/stash/deploy/bench/"
exec bash "$dest/stash/deploy/bench/gpu/measure.sh" "$dest/stash" "$@"
