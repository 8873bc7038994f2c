/**
 * pnpm abuse: each row of issue 17 (hostile packages, connection floods, slow heads, the drain)
 * as a seeded, bounded case against a real `lipsync serve` process on loopback.
 *
 *   pnpm abuse [--seed S] [--only 3,7] [--scale ci|full] [--cli packages/server/dist/cli.js]
 *
 * Prints one JSON line per case (its verdict, what it measured, and the bystander's /healthz,
 * RenderFrame and new-session times meanwhile) and exits 1 if a case failed that is not a known
 * finding. docs/security.md lists the rows and the limits they check.
 */
import { parseArgs } from "node:util";
import { SCALES } from "./case.js";
import { runAbuse } from "./run.js";

const { values } = parseArgs({ options: { seed: { type: "string" }, only: { type: "string" }, scale: { type: "string", default: "ci" }, cli: { type: "string" }, help: { type: "boolean", short: "h" } } });
if (values.help) {
  console.log("usage: pnpm abuse [--seed S] [--only ROW,...] [--scale ci|full] [--cli FILE]");
  process.exit(0);
}
const scale = SCALES[values.scale as keyof typeof SCALES];
if (!scale) {
  console.error(`--scale must be ci or full, got "${values.scale}"`);
  process.exit(2);
}
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const only = values.only?.split(",").map((r) => Number(r.trim()));
const results = await runAbuse({ seed, scale, ...(only ? { only } : {}), ...(values.cli ? { cli: values.cli } : {}), onResult: (r) => console.log(JSON.stringify(r)) });
process.exitCode = results.some((r) => r.verdict === "failed") ? 1 : 0;
