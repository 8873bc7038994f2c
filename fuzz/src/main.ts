/**
 * pnpm fuzz: seeded malformed input against every transport of a real `lipsync serve` process.
 *
 *   pnpm fuzz [--cases 2000] [--seed S] [--transports grpc,connect,grpc-web,ws,http] [--concurrency 8]
 *             [--only grpc:123,ws:7] [--cli packages/server/dist/cli.js] [--server-args="..."]
 *             [--healthz-max-ms 1000] [--healthz-slow-share 0.02]
 *
 * Prints one JSON line per transport (cases, failures by kind with replayable examples, known
 * findings, /healthz latency, RSS and descriptors before and after), and exits 1 if any case
 * failed. docs/fuzzing.md explains each check and its bound.
 */
import { parseArgs } from "node:util";
import { FUZZ_DEFAULTS, FUZZ_SERVER_ARGS, runFuzz, TRANSPORTS, type TransportName } from "./run.js";

const { values } = parseArgs({
  options: {
    cases: { type: "string" }, seed: { type: "string" }, transports: { type: "string" }, concurrency: { type: "string" }, only: { type: "string" },
    cli: { type: "string" }, "server-args": { type: "string", default: "" }, "healthz-max-ms": { type: "string" }, "healthz-slow-share": { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});

if (values.help) {
  console.log("usage: pnpm fuzz [--cases N] [--seed S] [--transports grpc,connect,grpc-web,ws,http] [--concurrency C] [--only T:K,...] [--cli FILE] [--server-args=ARGS] [--healthz-max-ms MS] [--healthz-slow-share X]");
  process.exit(0);
}

const num = (v: string | undefined, fallback: number, what: string) => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`--${what} must be a non-negative number, got "${v}"`);
    process.exit(2);
  }
  return n;
};

const transports = (values.transports?.split(",").map((t) => t.trim()) ?? [...TRANSPORTS]) as TransportName[];
for (const t of transports) {
  if (!TRANSPORTS.includes(t)) {
    console.error(`unknown transport "${t}"; known: ${TRANSPORTS.join(", ")}`);
    process.exit(2);
  }
}
const seed = num(values.seed, Math.floor(Math.random() * 2 ** 31), "seed");
const only = values.only?.split(",").map((s) => s.trim()).filter(Boolean);

const results = await runFuzz({
  ...FUZZ_DEFAULTS,
  seed,
  cases: num(values.cases, FUZZ_DEFAULTS.cases, "cases"),
  transports: only ? transports.filter((t) => only.some((o) => o.startsWith(`${t}:`))) : transports,
  concurrency: Math.max(1, num(values.concurrency, FUZZ_DEFAULTS.concurrency, "concurrency")),
  healthzMaxMs: num(values["healthz-max-ms"], FUZZ_DEFAULTS.healthzMaxMs, "healthz-max-ms"),
  healthzSlowShare: num(values["healthz-slow-share"], FUZZ_DEFAULTS.healthzSlowShare, "healthz-slow-share"),
  ...(only ? { only } : {}),
  child: { ...(values.cli ? { cli: values.cli } : {}), args: [...FUZZ_SERVER_ARGS, ...values["server-args"]!.split(" ").filter(Boolean)] },
  onResult: (r) => console.log(JSON.stringify(r)),
});
process.exitCode = results.some((r) => r.failed > 0) ? 1 : 0;
