// The lipsync command as a user runs it: help and version on every command, early checks that
// answer before any model loads, and render from any audio ffmpeg reads.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../src/static-mounts.js";

const CLI = path.join(REPO_ROOT, "packages", "server", "src", "cli.ts");
const SPEECH = path.join(REPO_ROOT, "models", "heldout", "gate-0.wav");

function lipsync(args: string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 60_000): Promise<{ code: number | null; out: string; err: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const p = spawn(process.execPath, ["--import", "tsx", CLI, ...args], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => {
      p.kill("SIGKILL");
      reject(new Error(`lipsync ${args.join(" ")} did not finish in ${timeoutMs} ms`));
    }, timeoutMs);
    p.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err, ms: performance.now() - t });
    });
  });
}

describe("lipsync CLI", () => {
  it("describes every option of every command, and prints its version anywhere", async () => {
    for (const command of ["serve", "render", "bench"]) {
      const help = await lipsync([command, "--help"]);
      expect(help.code).toBe(0);
      for (const line of help.out.split("\n").filter((l) => /^\s+(-\w, )?--/.test(l))) expect(line.replace(/^\s+(-\w, )?--[\w-]+( [A-Z]+)?/, "").trim().length, line).toBeGreaterThan(5);
      expect((await lipsync([command, "--version"])).out.trim()).toMatch(/^\d+\.\d+\.\d+/);
    }
    expect((await lipsync(["serve", "--help"])).out).toContain("--allow-origin ORIGIN");
  });

  it("checks folders, the port, origins and the avatar before loading anything", async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const cases: [string[], RegExp][] = [
        [["serve", "--avatars", "/no/such/folder"], /--avatars: folder \/no\/such\/folder does not exist/],
        [["serve", "--host", "127.0.0.1", "--port", String(port)], new RegExp(`port ${port} is already in use`)],
        [["serve", "--allow-origin", "example.com"], /allowed origin must be/],
        [["render", "-a", "demo", "-i", SPEECH, "-o", "/no/such/folder/x.mp4"], /--out: folder \/no\/such\/folder does not exist/],
        [["render", "-a", "demo", "-i", "/no/such.wav", "-o", "/tmp/x.mp4"], /--audio: \/no\/such.wav is not a file/],
        [["render", "-a", "ghost", "-i", SPEECH, "-o", path.join(os.tmpdir(), "x.mp4")], /avatar "ghost" not found; known avatars: demo/],
      ];
      for (const [args, message] of cases) {
        const r = await lipsync(args);
        expect(r.code, args.join(" ")).not.toBe(0);
        expect(r.err, args.join(" ")).toMatch(message);
        expect(r.out, args.join(" ")).not.toContain("avatar loaded");
      }
      const noFfmpeg = await lipsync(["render", "-a", "demo", "-i", SPEECH, "-o", "/tmp/x.mp4"], { ...process.env, PATH: "/nonexistent" });
      expect(noFfmpeg.err).toMatch(/ffmpeg is needed/);
    } finally {
      busy.close();
    }
  });

  it("renders an MP3 and a 24-bit 96 kHz WAV, and names an undecodable file", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "lipsync-cli-"));
    const mp3 = path.join(dir, "speech.mp3");
    const wav24 = path.join(dir, "speech-24.wav");
    execFileSync("ffmpeg", ["-loglevel", "error", "-i", SPEECH, "-ar", "44100", "-b:a", "64k", mp3]);
    execFileSync("ffmpeg", ["-loglevel", "error", "-i", SPEECH, "-ar", "96000", "-c:a", "pcm_s24le", wav24]);
    for (const input of [mp3, wav24]) {
      const out = path.join(dir, `${path.basename(input)}.mp4`);
      const r = await lipsync(["render", "-a", "demo", "-i", input, "-o", out], process.env, 120_000);
      expect(r.code, r.err).toBe(0);
      const summary = JSON.parse(r.out.trim().split("\n").pop()!);
      expect(summary.frames).toBeGreaterThanOrEqual(Math.floor(summary.audio_seconds * 25));
      expect(existsSync(out)).toBe(true);
    }
    expect(readdirSync(dir).filter((f) => f.includes("partial"))).toEqual([]);
    const junk = path.join(dir, "junk.mp3");
    execFileSync("sh", ["-c", `echo not audio > ${junk}`]);
    const bad = await lipsync(["render", "-a", "demo", "-i", junk, "-o", path.join(dir, "junk.mp4")]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/cannot decode junk.mp3 as audio/);
  });
});
