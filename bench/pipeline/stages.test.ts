import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const tmp = mkdtempSync(path.join(os.tmpdir(), "lipsync-stages-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A .cpuprofile whose samples spend `ms` in each function named. */
function profile(file: string, fns: [name: string, url: string, ms: number][]): void {
  const nodes = [{ id: 1, callFrame: { functionName: "(root)", url: "", lineNumber: 0 } },
    ...fns.map(([functionName, url], i) => ({ id: i + 2, callFrame: { functionName, url, lineNumber: 1 } }))];
  const samples: number[] = [];
  const timeDeltas: number[] = [0];
  fns.forEach(([, , ms], i) => {
    for (let k = 0; k < ms; k++) {
      samples.push(i + 2);
      timeDeltas.push(1000);
    }
  });
  writeFileSync(path.join(tmp, file), JSON.stringify({ nodes, samples, timeDeltas }));
}

describe("bench:stages", () => {
  it("puts each thread's sampled time in its stage, the UNet worker told from the encoder's", () => {
    profile("CPU.1.100.0.001.cpuprofile", [
      ["blendInto", "file:///srv/dist/chunk-A.js", 30], ["(garbage collector)", "", 10], ["(idle)", "", 500],
      ["compressSync", "file:///srv/node_modules/@julusian/jpeg-turbo/index.js", 10], ["frame", "file:///srv/dist/chunk-B.js", 10],
    ]);
    profile("CPU.1.100.2.002.cpuprofile", [["(anon)", "file:///srv/dist/inference-worker.mjs", 20], ["run", "file:///srv/node_modules/onnxruntime-node/dist/backend.js", 10]]);
    profile("CPU.1.100.3.003.cpuprofile", [["(anon)", "file:///srv/dist/inference-worker.mjs", 2], ["run", "file:///srv/node_modules/onnxruntime-node/dist/backend.js", 8]]);
    const out = JSON.parse(execFileSync(process.execPath, [path.join(import.meta.dirname, "stages.mjs"), tmp]).toString());
    expect(out.profiled_ms).toBe(100);
    expect(out.percent).toMatchObject({ compositing: 30, "input assembly": 20, "garbage collection": 10, encoding: 10, "audio front end": 10, "model call": 10, features: 10 });
    expect(Object.keys(out.by_thread).sort()).toEqual(["encoder worker", "main", "unet worker"]);
  });

  it("says so when the folder holds no profile", () => {
    expect(() => execFileSync(process.execPath, [path.join(import.meta.dirname, "stages.mjs"), path.join(tmp, "none")], { stdio: "pipe" })).toThrow();
  });
});
