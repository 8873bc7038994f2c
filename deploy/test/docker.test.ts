/**
 * The images, checked without a container engine (none runs on these machines): what each
 * Dockerfile copies exists and survives its .dockerignore, the final stage runs as a numeric
 * non-root user with a health check on /healthz and a drain that fits docker stop's timeout, its
 * command's flags are flags `lipsync serve` has, and the layout the images install
 * (deploy/docker/stage.sh) serves the demo and a mounted avatar folder, answers the health check
 * and drains on SIGTERM.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { execForm, only, readDockerfile, type Stage } from "./dockerfile.js";
import { CLI, REPO_ROOT, run, serve, stopAll } from "./procs.js";

afterAll(stopAll);

const DOCKER = path.join(REPO_ROOT, "deploy", "docker");
const IMAGES = ["Dockerfile", "Dockerfile.cuda"] as const;
/** docker stop's default wait between SIGTERM and SIGKILL, and what the server needs after the drain (server.ts CLOSE_GRACE_MS). */
const DOCKER_STOP_TIMEOUT_S = 10;
const CLOSE_GRACE_S = 1;

const final = (stages: Stage[]) => stages.at(-1)!;

/** Whether `.dockerignore` patterns (the forms our file uses) drop `rel`. */
function ignored(rel: string, patterns: string[]): boolean {
  const parts = rel.split("/");
  return patterns.some((p) => {
    if (p.startsWith("**/")) return parts.includes(p.slice(3));
    return rel === p || rel.startsWith(`${p}/`);
  });
}

function ignorePatterns(image: string): string[] {
  return readFileSync(path.join(DOCKER, `${image}.dockerignore`), "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
}

/** --flag names in `lipsync serve --help`. */
async function serveFlags(): Promise<Set<string>> {
  const help = await run(process.execPath, [...CLI, "serve", "--help"]);
  expect(help.code).toBe(0);
  return new Set([...help.stdout.matchAll(/--([a-z][a-z0-9-]*)/g)].map((m) => m[1]!));
}

describe.each(IMAGES)("deploy/docker/%s", (image) => {
  const stages = readDockerfile(path.join(DOCKER, image));
  const last = final(stages);
  const command = [...execForm(only(last, "ENTRYPOINT").args), ...execForm(only(last, "CMD").args)];

  it("copies into the image only what the build context holds", () => {
    const patterns = ignorePatterns(image);
    const copies = stages.flatMap((s) => s.instructions).filter((i) => i.keyword === "COPY" && !i.args.startsWith("--from"));
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) {
      const sources = c.args.split(" ").slice(0, -1);
      for (const src of sources) {
        expect(existsSync(path.join(REPO_ROOT, src)), `${image}: COPY ${src}`).toBe(true);
        if (src !== ".") expect(ignored(src, patterns), `${image}: COPY ${src} is in the .dockerignore`).toBe(false);
      }
    }
    // What the build itself reads from the context must not be ignored.
    for (const needed of ["pnpm-lock.yaml", "pnpm-workspace.yaml", "patches", "packages/server/src", "models/demo/manifest.json", "models/heldout", "deploy/docker/stage.sh"]) {
      expect(existsSync(path.join(REPO_ROOT, needed)), needed).toBe(true);
      expect(ignored(needed, patterns), `${needed} is in ${image}.dockerignore`).toBe(false);
    }
    // ... and the copies the build stage takes from itself are made there.
    const fromBuild = last.instructions.filter((i) => i.keyword === "COPY" && i.args.startsWith("--from=build"));
    expect(fromBuild.map((c) => c.args.split(" ")[1])).toContain("/app");
    expect(stages[0]!.instructions.some((i) => i.keyword === "RUN" && i.args.includes("bash deploy/docker/stage.sh /app"))).toBe(true);
  });

  it("runs as a numeric user that is not root, health-checks /healthz and stops with SIGTERM within docker stop's timeout", () => {
    const user = only(last, "USER").args;
    expect(user).toMatch(/^\d+:\d+$/);
    expect(Number(user.split(":")[0])).toBeGreaterThan(0);
    expect(only(last, "STOPSIGNAL").args).toBe("SIGTERM");
    const health = only(last, "HEALTHCHECK").args;
    expect(health).toMatch(/\/healthz/);
    const drain = Number(command[command.indexOf("--drain-seconds") + 1]);
    expect(drain).toBeGreaterThan(0);
    expect(drain + CLOSE_GRACE_S).toBeLessThan(DOCKER_STOP_TIMEOUT_S);
    // The port it listens on ($PORT) is the port it exposes and checks.
    const env = only(last, "ENV").args;
    const port = /PORT=(\d+)/.exec(env)?.[1];
    expect(only(last, "EXPOSE").args).toBe(port);
    expect(command.slice(0, 2)).toEqual(["node", "/app/packages/server/dist/cli.js"]);
    expect(command).toContain("0.0.0.0");
  });

  it("serves the demo and the read-only /avatars mount with flags lipsync serve has", async () => {
    const flags = await serveFlags();
    expect(command[2]).toBe("serve");
    for (const arg of command.slice(3)) if (arg.startsWith("--")) expect(flags.has(arg.slice(2)), `${image}: ${arg}`).toBe(true);
    const roots = command.flatMap((a, i) => (a === "--avatars" ? [command[i + 1]] : []));
    expect(roots).toEqual(["/app/models", "/avatars"]);
    expect(last.instructions.some((i) => i.keyword === "RUN" && i.args.includes("mkdir /avatars"))).toBe(true);
  });
});

describe("deploy/docker/Dockerfile.cuda", () => {
  const stages = readDockerfile(path.join(DOCKER, "Dockerfile.cuda"));
  const text = readFileSync(path.join(DOCKER, "Dockerfile.cuda"), "utf8");

  it("installs the CUDA provider the pinned onnxruntime-node was built for, on CUDA 13 with cuDNN", async () => {
    const { NPM_PROVIDER_PACKAGE } = await import("../../packages/server/src/gpu/install.js");
    const { ORT_VERSION } = await import("../../packages/server/src/gpu/runtime.js");
    const server = JSON.parse(readFileSync(path.join(REPO_ROOT, "packages", "server", "package.json"), "utf8")) as { dependencies: Record<string, string> };
    expect(server.dependencies["onnxruntime-node"]).toBe(ORT_VERSION);
    expect(ORT_VERSION).toBe("1.29.0");
    expect(NPM_PROVIDER_PACKAGE).toBe("com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9");
    expect(text).toContain(NPM_PROVIDER_PACKAGE);
    // `lipsync gpu install` is what places the provider, as on any machine (docs/gpu.md).
    expect(stages[0]!.instructions.some((i) => i.keyword === "RUN" && /cli\.js gpu install$/.test(i.args))).toBe(true);
    expect(final(stages).from).toMatch(/^nvidia\/cuda:13\.\d+\.\d+-cudnn-runtime-ubuntu/);
    expect(only(final(stages), "ENV").args).toMatch(/LIPSYNC_DEVICE=cuda(\s|$)/);
  });
});

describe("the layout the images install (deploy/docker/stage.sh)", () => {
  it("serves the demo and a mounted avatar, answers the image's health check and drains on SIGTERM", async () => {
    const built = path.join(REPO_ROOT, "packages", "server", "dist", "cli.js");
    expect(existsSync(built), "packages/server/dist is missing: run pnpm build (scripts/setup.sh does)").toBe(true);
    const tmp = mkdtempSync(path.join(os.tmpdir(), "lipsync-image-"));
    try {
      const app = path.join(tmp, "app");
      const staged = await run("bash", [path.join(DOCKER, "stage.sh"), app], { timeoutMs: 120_000 });
      expect(staged.code, staged.stderr).toBe(0);
      // The image holds the demo and nothing of the repository it does not need.
      expect(existsSync(path.join(app, "models", "demo", "manifest.json"))).toBe(true);
      expect(existsSync(path.join(app, "packages", "server", "src"))).toBe(false);
      const store = readdirSync(path.join(app, "node_modules", ".pnpm"));
      expect(store.some((d) => d.startsWith("onnxruntime-node@1.29.0"))).toBe(true);
      expect(store.filter((d) => /^(vitest|typescript|tsup|playwright-core)@/.test(d))).toEqual([]);
      const avatars = path.join(tmp, "avatars");
      mkdirSync(avatars);
      cpSync(path.join(REPO_ROOT, "models", "demo"), path.join(avatars, "mine"), { recursive: true });

      // The CPU image's command, its paths moved under tmp and its host kept to loopback (tests never open a port to the network).
      const stages = readDockerfile(path.join(DOCKER, "Dockerfile"));
      const last = final(stages);
      const command = [...execForm(only(last, "ENTRYPOINT").args), ...execForm(only(last, "CMD").args)]
        .map((a) => a.replace(/^\/app\b/, app).replace(/^\/avatars$/, avatars).replace(/^0\.0\.0\.0$/, "127.0.0.1"));
      const env = { ...process.env, PORT: "0", MALLOC_ARENA_MAX: "2" };
      const s = await serve([...command.slice(1), "--capacity", "2", "--log-level", "warn"], { command: [process.execPath], env });
      const ready = (await (await fetch(`${s.url}/readyz`)).json()) as { ready: boolean; avatars: string[] };
      expect(ready).toMatchObject({ ready: true });
      expect(ready.avatars.sort()).toEqual(["demo", "mine"]);
      expect((await fetch(`${s.url}/lip-sync-player.bundle.js`)).status).toBe(200);
      expect((await fetch(`${s.url}/samples/gate-0.wav`)).status).toBe(200);

      // The image's own HEALTHCHECK command, against this server.
      const health = execForm(only(last, "HEALTHCHECK").args.replace(/^.*?CMD /, ""));
      const probe = await run(health[0] === "node" ? process.execPath : health[0]!, health.slice(1), { env: { ...process.env, PORT: String(s.port) } });
      expect(probe.code).toBe(0);
      s.proc.kill("SIGTERM");
      expect(await s.exited).toBe(0);
      // ... and the same check fails once the server is gone.
      expect((await run(process.execPath, health.slice(1), { env: { ...process.env, PORT: String(s.port) } })).code).toBe(1);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 180_000);
});
