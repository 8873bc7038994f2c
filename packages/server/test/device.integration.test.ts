import { existsSync } from "node:fs";
import { Writable } from "node:stream";
import { createLipSyncClient } from "@lipsync/client/node";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { doctor } from "../src/gpu/doctor.js";
import { locateRuntime } from "../src/gpu/runtime.js";
import { testServer } from "./harness.js";

/** A server on `device` whose log lines are kept. */
async function logged(device: "cuda" | `cuda:${number}`) {
  const lines: { level: number; msg: string; device?: string }[] = [];
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(chunk.toString())); done(); } });
  const server = await testServer({ device, logger: pino({ level: "info" }, sink) });
  return { server, lines };
}

/** A machine where CUDA could run: an NVIDIA driver and the provider beside the binding. */
const cudaPossible = existsSync("/dev/nvidiactl") && locateRuntime().providers.every((p) => p.present);

describe("--device cuda without the CUDA provider", () => {
  it.skipIf(cudaPossible)("falls back to the CPU with one clear log line and serves", async () => {
    const { server, lines } = await logged("cuda");
    try {
      const c = createLipSyncClient({ baseUrl: server.url, protocol: "connect" });
      const demo = (await c.listAvatars()).find((a) => a.name === "demo")!;
      expect(demo.model?.executionProvider).toBe("cpu");
      expect((await c.renderFrame("demo", 3)).image.length).toBeGreaterThan(1000);
      const warnings = lines.filter((l) => /CUDA execution provider unavailable/.test(l.msg));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.level).toBe(40);
    } finally {
      await server.close();
    }
  });

  it.skipIf(cudaPossible)("does the same for a GPU named by number, and the warning names it", async () => {
    const { server, lines } = await logged("cuda:1");
    try {
      const c = createLipSyncClient({ baseUrl: server.url, protocol: "connect" });
      const demo = (await c.listAvatars()).find((a) => a.name === "demo")!;
      expect(demo.model?.executionProvider).toBe("cpu");
      // The CPU's options: no CUDA device id where CUDA is not in use.
      expect(demo.model?.providerOptions.device_id).toBeUndefined();
      const warnings = lines.filter((l) => /CUDA execution provider unavailable/.test(l.msg));
      expect(warnings.map((w) => w.device)).toEqual(["cuda:1"]);
    } finally {
      await server.close();
    }
  });
});

describe("--device cuda:N on a GPU machine", () => {
  // Skipped without a GPU (CI never has one); on a GPU machine every GPU it lists serves.
  it.skipIf(!cudaPossible)("runs the model on GPU N and says so", async () => {
    const report = await doctor();
    const usable = report.devices.filter((d) => d.usable);
    expect(usable.length).toBeGreaterThan(0);
    for (const { device } of usable) {
      const { server } = await logged(device as `cuda:${number}`);
      try {
        const c = createLipSyncClient({ baseUrl: server.url, protocol: "connect" });
        const demo = (await c.listAvatars()).find((a) => a.name === "demo")!;
        expect(demo.model?.executionProvider).toBe("cuda");
        expect(demo.model?.providerOptions.device_id).toBe(device.slice("cuda:".length));
        expect((await c.renderFrame("demo", 3)).image.length).toBeGreaterThan(1000);
      } finally {
        await server.close();
      }
    }
  }, 300_000);
});
