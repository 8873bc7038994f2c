/**
 * The LiveKit test fixture for processes that are not vitest (the Python tests):
 *
 *   node --import tsx e2e/livekit-cli.ts start
 *     starts livekit-server --dev on free loopback ports and prints one JSON line
 *     {"url","httpUrl","apiKey","apiSecret","ports","pid"}; the server stops when this process's
 *     stdin closes (the parent exited or closed the pipe), on SIGTERM or SIGINT, or after
 *     --max-seconds (default 1800), so it never outlives its test run.
 *   node --import tsx e2e/livekit-cli.ts token --room R --identity I [--kind agent]
 *       [--attr KEY=VALUE]... [--ttl SECONDS] [--api-key devkey --api-secret secret]
 *     prints a participant token.
 *   node --import tsx e2e/livekit-cli.ts binary
 *     builds livekit-server if needed (scripts/livekit-server.sh) and prints its path.
 */
import { parseArgs } from "node:util";
import { DEV_API_KEY, DEV_API_SECRET, liveKitServerBinary, startLiveKitServer } from "./livekit-server.js";
import { mintToken } from "./livekit-token.js";

const USAGE = "usage: livekit-cli.ts start [--max-seconds N] [--log-level warn] | token --room R --identity I [--kind agent] [--attr K=V]... [--ttl S] | binary";

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "binary") {
    const b = liveKitServerBinary();
    if ("missing" in b) {
      process.stderr.write(`${b.missing}\n`);
      return 1;
    }
    process.stdout.write(`${b.path}\n`);
    return 0;
  }
  if (command === "token") {
    const { values } = parseArgs({
      args: rest,
      options: {
        room: { type: "string" }, identity: { type: "string" }, kind: { type: "string" }, attr: { type: "string", multiple: true },
        ttl: { type: "string" }, "api-key": { type: "string" }, "api-secret": { type: "string" },
      },
    });
    if (!values.room || !values.identity) throw new Error(USAGE);
    if (values.kind !== undefined && values.kind !== "agent" && values.kind !== "standard") throw new Error(`--kind must be agent or standard, got ${values.kind}`);
    const attributes: Record<string, string> = {};
    for (const a of values.attr ?? []) {
      const i = a.indexOf("=");
      if (i <= 0) throw new Error(`--attr takes KEY=VALUE, got ${a}`);
      attributes[a.slice(0, i)] = a.slice(i + 1);
    }
    const token = await mintToken({ apiKey: values["api-key"] ?? DEV_API_KEY, apiSecret: values["api-secret"] ?? DEV_API_SECRET }, {
      room: values.room, identity: values.identity, attributes,
      ...(values.kind ? { kind: values.kind } : {}),
      ...(values.ttl !== undefined ? { ttl: Number(values.ttl) } : {}),
    });
    process.stdout.write(`${token}\n`);
    return 0;
  }
  if (command === "start") {
    const { values } = parseArgs({ args: rest, options: { "max-seconds": { type: "string" }, "log-level": { type: "string" } } });
    const lk = await startLiveKitServer({ ...(values["log-level"] ? { logLevel: values["log-level"] } : {}) });
    const { url, httpUrl, apiKey, apiSecret, ports, pid } = lk;
    process.stdout.write(`${JSON.stringify({ url, httpUrl, apiKey, apiSecret, ports, pid })}\n`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Number(values["max-seconds"] ?? 1800) * 1000);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      process.stdin.on("end", done).on("close", done).resume();
      process.once("SIGTERM", done).once("SIGINT", done);
    });
    await lk.stop();
    return 0;
  }
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
