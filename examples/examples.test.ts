// The examples and the README's snippets run in CI so they cannot rot. Pages (plain HTML, React,
// Vue, the README's web snippet) run in Chromium from another origin: e2e/examples.e2e.test.ts.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, defaultStaticMounts } from "../packages/server/src/static-mounts.js";
import type { RunningServer } from "../packages/server/src/server.js";
import { testServer } from "../packages/server/test/harness.js";
import { speakFile } from "./node/speak.js";
import { snippet } from "./snippets.js";

const WAV = path.join(REPO_ROOT, "models", "heldout", "gate-0.wav");
/** Speech frames gate-0.wav makes: ceil(samples / 640) at 16 kHz. */
const GATE0_FRAMES = Math.ceil((readFileSync(WAV).length - 44) / 2 / 640);

function run(cmd: string, args: string[], timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.on("error", (e) => reject(new Error(`${cmd} could not start (bash scripts/setup.sh --system installs it): ${e.message}`)));
    p.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(" ")} exited ${code}: ${err.slice(-2000)}`));
    });
  });
}

let server: RunningServer;
beforeAll(async () => {
  server = await testServer({ staticMounts: defaultStaticMounts() });
});
afterAll(() => server?.close());

describe("examples", () => {
  it("node/speak.ts streams a WAV over gRPC and saves every frame", async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), "lipsync-example-"));
    const { frames } = await speakFile(server.url, WAV, out);
    expect(frames).toBe(GATE0_FRAMES);
    expect(readdirSync(out)).toHaveLength(frames);
  });

  it("the README's Node snippet runs as plain JavaScript and as TypeScript, and type-checks", async () => {
    const code = snippet("node").replaceAll("http://localhost:8080", server.url);
    const dir = path.join(REPO_ROOT, "examples", ".snippets");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "readme-node.mjs"), code);
    writeFileSync(path.join(dir, "readme-node.ts"), code);
    expect(await run(process.execPath, [path.join(dir, "readme-node.mjs")])).toBe(`${GATE0_FRAMES} speech frames\n`);
    expect(await run(process.execPath, ["--import", "tsx", path.join(dir, "readme-node.ts")])).toBe(`${GATE0_FRAMES} speech frames\n`);
    await run(path.join(REPO_ROOT, "node_modules", ".bin", "tsc"), ["--noEmit", "--strict", "--target", "es2022", "--module", "nodenext", "--moduleResolution", "nodenext",
      "--types", "node", "--skipLibCheck", path.join(dir, "readme-node.ts")]);
  });

  it("the package READMEs carry the same snippets as the repository's", () => {
    expect(snippet("node", path.join(REPO_ROOT, "packages", "client", "README.md"))).toBe(snippet("node"));
    expect(snippet("web", path.join(REPO_ROOT, "packages", "web-component", "README.md"))).toBe(snippet("web"));
  });

  describe("other languages, from stubs buf generates with Debian's plugins", () => {
    beforeAll(async () => {
      await run(path.join(REPO_ROOT, "node_modules", ".bin", "buf"), ["generate", "--template", "buf.gen.other.yaml"]);
    });

    it("python/speak.py (grpcio) streams a WAV through Speak and gets every frame", async () => {
      expect(existsSync(path.join(REPO_ROOT, "gen", "python", "lipsync", "v1", "lipsync_pb2_grpc.py"))).toBe(true);
      const r = JSON.parse(await run("/usr/bin/python3", ["examples/python/speak.py", `127.0.0.1:${server.port}`, WAV]));
      expect(r.frames).toBe(GATE0_FRAMES);
      expect(r.expected).toBe(GATE0_FRAMES);
    });

    it("go/speak.go (grpc-go, built offline) checks health, streams a WAV and gets every frame", async () => {
      const r = JSON.parse(await run("bash", ["examples/go/run.sh", `127.0.0.1:${server.port}`, WAV], 300_000));
      expect(r.health).toBe("SERVING");
      expect(r.frames).toBe(GATE0_FRAMES);
    });
  });
});
