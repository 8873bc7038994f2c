"""The media constants and the idle walk of training/constants.py agree with the TypeScript ones.

Training reads its own copy (Python cannot import TypeScript), so this test runs the server's and
the player's modules under Node (tsx, from the workspace's node_modules) and compares. If a module
moves, update TS_MODULES; a missing one fails rather than passes silently.
"""
import json
import os
import shutil
import subprocess
import unittest

import numpy as np

from training import constants as C

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# (module, its idle walk, what the walk's first argument counts: frame steps or 16 kHz samples)
TS_MODULES = {
    "constants": "packages/server/src/audio/constants.ts",
    "shared": ("packages/proto/src/media.ts", "idleIndex", "step"),
    "player": ("packages/web-component/src/clock.ts", "idleIndex", "pts"),
}
COUNTS = (1, 2, 3, 7, 125)
STEPS = list(range(-5, 400))

SCRIPT = """
const [constantsPath, walks, counts, steps, spf] = JSON.parse(process.argv[1]);
const c = await import(constantsPath);
const out = {constants: {SAMPLE_RATE: c.SAMPLE_RATE, FPS: c.FPS, SAMPLES_PER_FRAME: c.SAMPLES_PER_FRAME, mel: c.DEFAULT_MEL}, walks: {}};
for (const [name, path, fn, unit] of walks) {
  const m = await import(path);
  out.walks[name] = counts.map((n) => steps.map((s) => m[fn](unit === "pts" ? s * spf : s, n)));
}
console.log(JSON.stringify(out));
"""


class SharedContractsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        node = shutil.which("node")
        if node is None or not os.path.isdir(os.path.join(ROOT, "node_modules", "tsx")):
            raise unittest.SkipTest("needs node and the workspace's node_modules (pnpm install)")
        for rel in [TS_MODULES["constants"]] + [m[0] for k, m in TS_MODULES.items() if k != "constants"]:
            if not os.path.exists(os.path.join(ROOT, rel)):
                raise AssertionError(f"{rel} is gone: point TS_MODULES at the module that holds it now")
        walks = [[k, "./" + m[0], m[1], m[2]] for k, m in TS_MODULES.items() if k != "constants"]
        arg = json.dumps(["./" + TS_MODULES["constants"], walks, COUNTS, STEPS, C.SAMPLES_PER_FRAME])
        run = subprocess.run([node, "--import", "tsx", "--input-type=module", "-e", SCRIPT, arg],
                             cwd=ROOT, capture_output=True, text=True, timeout=120)
        if run.returncode != 0:
            raise AssertionError(f"node failed: {run.stderr[-2000:]}")
        cls.ts = json.loads(run.stdout.strip().splitlines()[-1])

    def test_media_constants_agree(self):
        c = self.ts["constants"]
        self.assertEqual((c["SAMPLE_RATE"], c["FPS"], c["SAMPLES_PER_FRAME"]),
                         (C.SAMPLE_RATE, C.FPS, C.SAMPLES_PER_FRAME))
        mel = c["mel"]
        self.assertEqual(
            (mel["sampleRate"], mel["nFft"], mel["hopLength"], mel["winLength"], mel["nMels"], mel["fMin"],
             mel["fMax"], mel["preemphasis"], mel["minLevelDb"], mel["refLevelDb"], mel["maxAbsValue"],
             mel["windowFrames"], mel["windowOffset"]),
            (C.SAMPLE_RATE, C.N_FFT, C.HOP_LENGTH, C.WIN_LENGTH, C.N_MELS, C.F_MIN, C.F_MAX, C.PREEMPHASIS,
             C.MIN_LEVEL_DB, C.REF_LEVEL_DB, C.MAX_ABS_VALUE, C.MEL_WINDOW, C.MEL_OFFSET))

    def test_idle_walk_agrees(self):
        mine = [C.idle_index(np.array(STEPS), n).tolist() for n in COUNTS]
        self.assertEqual(mine[3][:14], [5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6, 5, 4])   # from step -5
        for name, walk in self.ts["walks"].items():
            with self.subTest(module=name):
                self.assertEqual(walk, mine)


if __name__ == "__main__":
    unittest.main()
