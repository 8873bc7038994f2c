import { Writable } from "node:stream";
import { createLipSyncClient } from "@lipsync/client/node";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { testServer } from "./harness.js";

describe("--device cuda without the CUDA provider", () => {
  it("falls back to the CPU with one clear log line and serves", async () => {
    const lines: { level: number; msg: string }[] = [];
    const sink = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(chunk.toString())); done(); } });
    const server = await testServer({ device: "cuda", logger: pino({ level: "info" }, sink) });
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
});
