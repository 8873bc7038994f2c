#!/usr/bin/env bash
# Stage the whole GPU measurement for the lent GPU machine (no Node, no registry, bare at each
# start, 64 MiB per call with the working tree): one xz-compressed tar, split into parts under
# .device/gpu/pN/ (git-ignored), each carried by one call. bench/gpu/README.md gives the calls.
#
#   bash bench/gpu/stage.sh            # after pnpm install && pnpm build; about 10 min on 2 cores
#   PART_MIB=40 bash bench/gpu/stage.sh
#
# The tar holds stash/: node (this machine's), deploy/ (the server deployed with production
# dependencies, onnxruntime-node 1.29.0 with its CUDA 13 provider from the npm package
# com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9), deploy/models/ (demo with its INT8 CPU
# variant, demo-fp16, synctalk-full and synctalk-full-fp16, heldout speech), deploy/bench/ (the
# session benchmark and bench/gpu's scripts, the real inputs for the fp16 check, plan.json).
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
here=bench/gpu
part_mib=${PART_MIB:-40}
provider=com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
py=.tools/gpu-venv/bin/python
[ -f packages/server/dist/cli.js ] || { echo "build first: pnpm install && pnpm build" >&2; exit 1; }
grep -qx '/.device/' .gitignore .git/info/exclude 2>/dev/null || { echo "/.device/ must be git-ignored" >&2; exit 1; }
t0=$(date +%s)

# Python for the fp16 conversion (onnx, onnxconverter-common; numpy stays Debian's).
pins="onnx==1.17.0 onnxconverter-common==1.16.0 numpy==1.24.2"
if [ "$(cat .tools/gpu-venv/pins.txt 2>/dev/null)" != "$pins" ]; then
  /usr/bin/python3 -m venv --system-site-packages --clear .tools/gpu-venv
  $py -m pip install -q $pins
  echo "$pins" > .tools/gpu-venv/pins.txt
fi

# The CUDA provider, fetched once per version (about 180 MB).
mkdir -p .device/cache
tgz=.device/cache/${provider/@/-}.tgz
[ -f "$tgz" ] || (cd .device/cache && npm pack --silent "$provider" >/dev/null)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stash=$work/stash
mkdir -p "$stash"
cp "$(command -v node)" "$stash/node"
echo "deploying the server with production dependencies..."
pnpm --filter ./packages/server deploy --prod --legacy "$stash/deploy" >/dev/null
ortdir=$(ls -d "$stash"/deploy/node_modules/.pnpm/onnxruntime-node@1.29.0/node_modules/onnxruntime-node)
rm -rf "$ortdir"/bin/napi-v6/{darwin,win32,linux/arm64}
# What `serve` never loads: face finding for `avatar build` (TensorFlow.js, face-api; required
# lazily by that command) and what build tools left among the production dependencies.
(cd "$stash/deploy/node_modules/.pnpm" && rm -rf @tensorflow+* @vladmandic+face-api@* typescript@* vue@* @vue+* @babel+* core-js@*)
# libjpeg-turbo's binding: its prebuilt library for linux-x64 only, and not cmake-js (the
# install-time compiler it lists as a dependency).
(cd "$stash/deploy/node_modules/.pnpm" && rm -rf cmake-js@* @julusian+jpeg-turbo@*/node_modules/@julusian/jpeg-turbo/prebuilds/jpeg-turbo-{darwin,win32,linux-arm}*)
tar xzf "$tgz" -C "$work" package/Plugins/Linux/x64/libonnxruntime_providers_cuda.so package/Plugins/Linux/x64/libonnxruntime_providers_shared.so
mv "$work"/package/Plugins/Linux/x64/*.so "$ortdir/bin/napi-v6/linux/x64/"

echo "models..."
models=$stash/deploy/models
mkdir -p "$models"
cp -rL models/demo models/heldout "$models/"
if [ ! -f bench/out/avatars/synctalk-full/manifest.json ]; then nice -n 19 node --import tsx bench/originals.ts >/dev/null; fi
cp -rL bench/out/avatars/synctalk-full "$models/"
# Random weights rounded to 4 significant bits: the files compress, the work per frame is the same.
$py $here/variants.py round-weights "$models/synctalk-full/unet.onnx"
$py $here/variants.py round-weights "$models/synctalk-full/audio_encoder.onnx"
for a in demo synctalk-full; do
  nice -n 19 $py $here/variants.py fp16 "$models/$a/unet.onnx" "$models/$a/unet.fp16.onnx"
  $py $here/variants.py package "$models/$a" "$models/$a-fp16" "$models/$a/unet.fp16.onnx"
  rm "$models/$a/unet.fp16.onnx"
done

echo "real inputs for the fp16 check..."
mkdir -p "$stash/deploy/bench/gpu"
node --import tsx $here/dump-inputs.ts --root "$models" --avatar demo --items 16 --out "$stash/deploy/bench/gpu/inputs/demo"
node --import tsx $here/dump-inputs.ts --root "$models" --avatar synctalk-full --items 8 --out "$stash/deploy/bench/gpu/inputs/synctalk-full"
cp bench/sessions.mjs bench/live.mjs "$stash/deploy/bench/"
cp $here/models.mjs $here/measure.sh "$stash/deploy/bench/gpu/"
git rev-parse --short HEAD > "$stash/deploy/COMMIT"
node -e '
const fs = require("fs"), path = require("path");
const models = process.argv[1];
const enc = (a) => { const m = JSON.parse(fs.readFileSync(path.join(models, a, "manifest.json"), "utf8")).model;
  return m.mel ? { file: m.audio_encoder, dims: [1, m.mel.n_mels, m.mel.window_frames] } : { file: m.audio.frontend.encoder?.file, dims: m.audio.frontend.mel ? [1, 80, 16] : undefined }; };
const plan = { models: [], encoder_dims: {} };
for (const a of ["demo", "synctalk-full"]) {
  const e = enc(a);
  plan.encoder_dims[a] = e.dims;
  const unet = JSON.parse(fs.readFileSync(path.join(models, a, "manifest.json"), "utf8")).model;
  const fp32 = typeof unet.unet === "string" ? unet.unet : unet.unet.file;
  plan.models.push({ avatar: a, precision: "fp32", unet: `../models/${a}/${fp32}`, encoder: e.file ? `../models/${a}/${e.file}` : undefined, inputs: `inputs/${a}` });
  plan.models.push({ avatar: a, precision: "fp16", unet: `../models/${a}-fp16/unet.fp16.onnx`, inputs: `inputs/${a}` });
  const v = unet.cpu_variant;
  if (v) plan.models.push({ avatar: a, precision: v.precision, unet: `../models/${a}/${v.unet}`, encoder: v.audio_encoder ? `../models/${a}/${v.audio_encoder}` : undefined, inputs: `inputs/${a}`, devices: ["cpu"] });
}
fs.writeFileSync(path.join(models, "..", "bench", "gpu", "plan.json"), JSON.stringify(plan, null, 1));
' "$models"

echo "packing (xz -6)..."
du -sh "$stash"/node "$stash"/deploy/node_modules "$models"/* | sed 's|'"$work"'/||; s|^|  raw |'
rm -rf .device/gpu && mkdir -p .device/gpu
tar -C "$work" -cf - stash | nice -n 19 xz -6 -T2 > "$work/stash.tar.xz"
split -b "${part_mib}M" -d -a 2 "$work/stash.tar.xz" "$work/part."
n=0
for f in "$work"/part.*; do
  n=$((n + 1)); mkdir -p ".device/gpu/p$n"; mv "$f" ".device/gpu/p$n/part.$(printf %02d $n)"
done
# Every part folder lists every part, so run.sh knows what is still to come.
(cd .device/gpu && sha256sum p*/part.* | sed 's| p[0-9]*/| |') > "$work/SHA256SUMS"
for d in .device/gpu/p*/; do cp "$work/SHA256SUMS" "$d"; done
total=$(stat -c %s "$work/stash.tar.xz")
echo "staged $n parts, $((total / 1048576)) MiB compressed, in $(( $(date +%s) - t0 )) s:"
ls -l .device/gpu/p*/part.* | awk '{printf "  %s  %.1f MiB\n", $9, $5 / 1048576}'
echo "calls: bench/gpu/README.md (each part's call within 30 s of the last; the last one measures)"
