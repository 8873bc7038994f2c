#!/usr/bin/env bash
# The whole GPU measurement in one go, within a time budget, over an unpacked stash (run.sh):
#
#   1. the provider: `lipsync doctor --json` (driver, libraries, a test run on each provider)
#   2. the models alone (models.mjs): fp32 and fp16 UNets (int8 on the CPU) at batches 1, 8 and
#      32, session creation and first run against warm runs, fp16's error against fp32 on real
#      inputs
#   3. live sessions (bench/sessions.mjs --sweep --first) for demo, demo-fp16, synctalk-full and
#      synctalk-full-fp16: the first session on a fresh server against the same session warm,
#      then the most sessions held (every frame, none dropped, p99 <= 100 ms), the server's CPU
#      and the GPU's utilisation per run
#   4. nvidia-smi sampled every second and /proc/stat for the whole run
#
#   bash measure.sh STASH [--device cuda|cpu] [--budget SECONDS]
#
# Writes to $OUT (at most 8 files): results.jsonl (every JSON line), summary.json, doctor.json,
# gpu.csv, cpu.log, log.txt (stderr of everything). Every step has a timeout, and the sweeps
# share what is left of the budget, so the call ends in time with whatever it measured.
set -uo pipefail
stash=$1; shift
device=cuda
budget=480
while [ $# -gt 0 ]; do
  case $1 in
    --device) device=$2; shift 2 ;;
    --budget) budget=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
OUT=${OUT:?set OUT to the folder for the results}
. "$stash/env.sh"
cd "$stash/deploy"
start=$(date +%s)
left() { echo $(( budget - ($(date +%s) - start) )); }
results=$OUT/results.jsonl
log=$OUT/log.txt
: > "$results"
echo "node $(command -v node) $(node --version), device $device, budget ${budget}s" | tee "$log"

pids=()
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$OUT/gpu.csv" 2>>"$log"
  nvidia-smi --query-gpu=timestamp,utilization.gpu,utilization.memory,memory.used,power.draw --format=csv,noheader,nounits -l 1 >> "$OUT/gpu.csv" 2>>"$log" &
  pids+=($!)
fi
# The machine's CPU time every second (Linux /proc/stat: user nice system idle iowait ... ticks).
(while :; do echo "$(date +%s.%N | cut -c1-14) $(head -1 /proc/stat)"; sleep 1; done) > "$OUT/cpu.log" &
pids+=($!)
trap 'kill "${pids[@]}" 2>/dev/null' EXIT

timeout 60 node dist/cli.js doctor --json > "$OUT/doctor.json" 2>>"$log"
echo "{\"bench\":\"doctor\",\"exit\":$?}" >> "$results"

echo "models alone..." | tee -a "$log"
timeout $(( $(left) / 5 )) node bench/gpu/models.mjs --plan bench/gpu/plan.json --device "$device" --batches 1,8,32 --seconds 2 >> "$results" 2>>"$log"

# avatar, first session count of the sweep on this device, weight of the remaining budget.
if [ "$device" = cuda ]; then
  sweeps=("demo 16 3" "demo-fp16 16 2" "synctalk-full 8 3" "synctalk-full-fp16 8 2")
else
  sweeps=("demo 2 3" "demo-fp16 2 1" "synctalk-full 1 1" "synctalk-full-fp16 1 0")
fi
weights=0
for s in "${sweeps[@]}"; do set -- $s; weights=$(( weights + $3 )); done
for s in "${sweeps[@]}"; do
  set -- $s
  [ "$3" -gt 0 ] || continue
  b=$(( $(left) * $3 / weights )); weights=$(( weights - $3 ))
  [ "$b" -ge 30 ] || { echo "{\"bench\":\"sessions_sweep\",\"avatar\":\"$1\",\"skipped\":\"budget spent\"}" >> "$results"; continue; }
  echo "sessions: $1 (start $2, budget ${b}s)" | tee -a "$log"
  # A sweep stops starting runs at its budget; the timeout covers a run that hangs.
  timeout $(( b + 60 )) node bench/sessions.mjs --cli dist/cli.js --device "$device" --avatar "$1" --sweep --first --start "$2" --budget "$b" \
    --seconds 10 --server-args="--avatars models --max-batch 32" >> "$results" 2>>"$log"
done

node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean).map((l) => { try { return JSON.parse(l); } catch { return null; } }).filter(Boolean);
const pick = (b) => lines.filter((l) => l.bench === b);
const summary = {
  device: process.argv[2], commit: process.env.LIPSYNC_COMMIT, wall_s: Number(process.argv[3]),
  models: pick("models").filter((l) => l.batch === 32 || l.error).map((l) => ({ avatar: l.avatar, precision: l.precision, model: l.model, ms_per_frame: l.ms_per_frame, first_run_ms: l.first_run_ms, error: l.error })),
  fp16_error: pick("models_error"),
  sweeps: pick("sessions_sweep"),
  first_vs_warm: pick("sessions").filter((l) => l.sessions === 1).map((l) => ({ avatar: l.avatar, phase: l.phase, first_frame_ms: l.first_frame_p50_ms, p50_ms: l.latency_p50_ms, p99_ms: l.latency_p99_ms, lost: l.lost })),
};
require("fs").writeFileSync(process.argv[4], JSON.stringify(summary, null, 1));
' "$results" "$device" "$(( $(date +%s) - start ))" "$OUT/summary.json" 2>>"$log"
echo "done in $(( $(date +%s) - start )) s: $OUT/summary.json" | tee -a "$log"
cat "$OUT/summary.json"
