/** lipsync bench: engine throughput on one avatar, rendering from its own audio track. */
import os from "node:os";
import { LipSyncApp } from "../app.js";
import { resolveConfig } from "../config.js";
import { silentLogger } from "../logger.js";
import { checkAvatarFolders } from "./checks.js";
import { intOption, stringOption, type Command } from "./options.js";
import { AVATAR_OPTIONS, serverOptions } from "./server-options.js";

export const bench: Command = {
  name: "bench",
  summary: "measure engine throughput on one avatar (prints one JSON line)",
  options: [
    { name: "avatar", short: "a", value: "NAME", default: "demo", description: "avatar to measure" },
    { name: "frames", value: "N", default: "200", description: "frames to render" },
    ...AVATAR_OPTIONS,
  ],
  async run(values) {
    const options = serverOptions(values);
    const name = stringOption(values, "avatar") ?? "demo";
    const frames = intOption(values, "frames", 1, 1_000_000) ?? 200;
    checkAvatarFolders(options.avatarRoots!);
    const app = new LipSyncApp(resolveConfig({ ...options, logLevel: "warn" }), silentLogger());
    app.registry.locate(name);
    try {
      const avatar = await app.registry.get(name);
      await app.oneShot.renderOwn(undefined, name, [0, 1, 2, 3], "jpeg");
      const t = performance.now();
      const indices = Array.from({ length: frames }, (_, i) => i % avatar.frameCount);
      for (let i = 0; i < indices.length; i += 32) await app.oneShot.renderOwn(undefined, name, indices.slice(i, i + 32), "jpeg");
      const ms = performance.now() - t;
      const stages = Object.fromEntries(app.stats.stages().map((s) => [s.stage, { p50: Number(s.p50.toFixed(2)), p99: Number(s.p99.toFixed(2)) }]));
      process.stdout.write(JSON.stringify({ bench: "engine", avatar: name, frames, fps: Number(((frames * 1000) / ms).toFixed(1)), mean_batch: Number(app.stats.meanBatchSize.toFixed(2)), stages_ms: stages, cpus: os.cpus().length, cpu: os.cpus()[0]?.model }) + "\n");
    } finally {
      await app.close();
    }
  },
};
