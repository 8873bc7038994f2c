// The CI-sized fuzz run (docs/fuzzing.md): 1,500 seeded cases per transport against a real
// `lipsync serve` process. Every case must get a documented answer with no path or stack in it,
// the server must never die, /healthz must keep answering, and memory and descriptors must come
// back after each transport. `pnpm fuzz --cases N --seed S` runs more; FUZZ_SEED and FUZZ_CASES
// change this run.
import { expect, it } from "vitest";
import { FUZZ_DEFAULTS, FUZZ_SERVER_ARGS, runFuzz } from "./run.js";

const SEED = Number(process.env.FUZZ_SEED ?? 12);
const CASES = Number(process.env.FUZZ_CASES ?? 1500);

it("answers hostile input on every transport with documented statuses, and stays up, responsive and lean", async () => {
  const results = await runFuzz({
    ...FUZZ_DEFAULTS, seed: SEED, cases: CASES, child: { args: FUZZ_SERVER_ARGS },
    onResult: (r) => console.log(JSON.stringify(r)),
  });
  expect(results.map((r) => r.fuzz)).toEqual([...FUZZ_DEFAULTS.transports]);
  for (const r of results) {
    // The examples name each failing case: replay one with `pnpm fuzz --seed SEED --only TRANSPORT:K`.
    expect(r.failures, `${r.fuzz}: ${JSON.stringify(r.examples)}`).toEqual({});
    expect(r.server_restarts, r.fuzz).toBe(0);
    expect(r.cases, r.fuzz).toBe(CASES);
    expect(r.healthz.probes, r.fuzz).toBeGreaterThan(0);
  }
}, 600_000);
