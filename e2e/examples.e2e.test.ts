// Every web example as a user's site runs it: served from another origin than the server's
// (another port of 127.0.0.1), in Chromium, and it must draw speech frames. Then the packages as
// npm delivers them: packed, installed from the tarballs into a clean folder, a Node client run
// against the real server and the packed player bundle in Chromium.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { snippet } from "../examples/snippets.js";
import type { RunningServer } from "../packages/server/src/server.js";
import { defaultStaticMounts, REPO_ROOT } from "../packages/server/src/static-mounts.js";
import { testServer } from "../packages/server/test/harness.js";
import { launchChromium } from "./browser.js";

const OUT = path.join(REPO_ROOT, "test-output");
const EXAMPLES = path.join(REPO_ROOT, "examples");
const TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".wav": "audio/wav", ".map": "application/json" };

/** A second origin: files from folders or in memory, with the server URL the pages name swapped in. */
class OtherOrigin {
  private readonly routes = new Map<string, (rel: string) => { body: Buffer | string; type: string } | undefined>();
  private server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    for (const [prefix, route] of this.routes) {
      if (!url.pathname.startsWith(prefix)) continue;
      const hit = route(url.pathname.slice(prefix.length) || "index.html");
      if (hit) {
        res.writeHead(200, { "content-type": hit.type });
        res.end(hit.body);
        return;
      }
    }
    res.writeHead(404);
    res.end();
  });
  url = "";

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  folder(prefix: string, dir: string, rewrite?: (text: string) => string): void {
    this.routes.set(prefix, (rel) => {
      const file = path.join(dir, rel);
      if (!file.startsWith(dir)) return undefined;
      try {
        const type = TYPES[path.extname(file)] ?? "application/octet-stream";
        const body = readFileSync(file);
        return { body: rewrite && type === "text/html" ? rewrite(body.toString()) : body, type };
      } catch {
        return undefined;
      }
    });
  }

  page(prefix: string, html: string): void {
    this.routes.set(prefix, (rel) => (rel === "index.html" ? { body: html, type: "text/html" } : undefined));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

function run(cmd: string, args: string[], cwd: string, timeoutMs = 180_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: "skip", npm_config_update_notifier: "false" } });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(Object.assign(new Error(`${cmd} ${args.join(" ")} exited ${code}: ${err.slice(-3000)}`), { stderr: err }));
    });
  });
}

let origin: OtherOrigin;
let server: RunningServer;
let browser: Browser;

/** Opens a page, records the player's events at the document, clicks `button`, waits for speech. */
async function speaksFromAnotherOrigin(url: string, button: string, shot: string): Promise<{ speech: number; errors: string[] }> {
  const page: Page = await browser.newPage();
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("console", (m) => (m.type() === "error" ? problems.push(m.text()) : undefined));
  try {
    await page.addInitScript(() => {
      const w = window as unknown as { events: { type: string; detail: any }[] };
      w.events = [];
      for (const type of ["ready", "frame", "speechstart", "speechend", "error"]) {
        document.addEventListener(type, (e) => e instanceof CustomEvent && w.events.push({ type, detail: e.detail }), true);
      }
    });
    await page.goto(url);
    await page.waitForFunction(() => (window as any).events.some((e: any) => e.type === "ready"), undefined, { timeout: 30_000 })
      .catch((err) => Promise.reject(new Error(`${url}: no ready event (${problems.join("; ")}): ${err.message}`)));
    await page.click(button);
    await page.waitForFunction(() => (window as any).events.filter((e: any) => e.type === "frame" && e.detail.kind === "speech").length > 20, undefined, { timeout: 45_000 })
      .catch(async (err) => {
        // What the page saw, for whoever reads a failure: event counts, errors, and a picture.
        await page.screenshot({ path: path.join(OUT, `failed-${shot}`) }).catch(() => undefined);
        const seen = await page.evaluate(() => {
          const counts: Record<string, number> = {};
          for (const e of (window as any).events as { type: string; detail: any }[]) counts[e.type === "frame" ? `frame:${e.detail.kind}` : e.type] = (counts[e.type === "frame" ? `frame:${e.detail.kind}` : e.type] ?? 0) + 1;
          return counts;
        });
        throw new Error(`${url}: fewer than 21 speech frames drawn (${JSON.stringify(seen)}; ${problems.join("; ")}): ${err.message}`);
      });
    await page.screenshot({ path: path.join(OUT, shot) });
    await page.waitForFunction(() => (window as any).events.some((e: any) => e.type === "speechend"), undefined, { timeout: 30_000 });
    const events = await page.evaluate(() => (window as any).events as { type: string; detail: any }[]);
    return { speech: events.filter((e) => e.type === "frame" && e.detail.kind === "speech").length, errors: events.filter((e) => e.type === "error").map((e) => e.detail.message) };
  } finally {
    await page.close();
  }
}

beforeAll(async () => {
  // The React and Vue examples built as their users would (Vite).
  const vite = path.join(EXAMPLES, "node_modules", ".bin", "vite");
  await run(vite, ["build", "--logLevel", "warn", "react"], EXAMPLES);
  await run(vite, ["build", "--logLevel", "warn", "vue"], EXAMPLES);
  origin = new OtherOrigin();
  await origin.start();
  server = await testServer({ allowOrigins: [origin.url], staticMounts: defaultStaticMounts() });
  const swap = (text: string) => text.replaceAll("http://localhost:8080", server.url);
  origin.page("/readme/", `<!doctype html><html><body>\n${swap(snippet("web"))}\n</body></html>`);
  origin.folder("/plain-html/", path.join(EXAMPLES, "plain-html"), swap);
  origin.folder("/react/", path.join(EXAMPLES, "react", "dist"));
  origin.folder("/vue/", path.join(EXAMPLES, "vue", "dist"));
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await origin?.close();
});

describe("web examples from another origin", () => {
  const cases = [
    { name: "the README's snippet", path: "/readme/", button: "#hello" },
    { name: "plain-html", path: "/plain-html/", button: "#speak" },
    { name: "React (Vite build)", path: "/react/?server=SERVER", button: "#speak" },
    { name: "Vue (Vite build)", path: "/vue/?server=SERVER", button: "#speak" },
  ];
  for (const c of cases) {
    it(`${c.name} draws speech frames`, async () => {
      const url = `${origin.url}${c.path.replace("SERVER", encodeURIComponent(server.url))}`;
      const r = await speaksFromAnotherOrigin(url, c.button, `example-${c.path.split("/")[1]}.png`);
      expect(r.errors).toEqual([]);
      // Drawn frames, not received ones: a frame that comes after its time on the audio clock is
      // skipped, so a loaded machine draws fewer. More than the 20 waited for above proves speech.
      expect(r.speech).toBeGreaterThan(20);
    });
  }

  it("a page from an origin the server does not allow gets no player, and no session", async () => {
    const strict = await testServer({ staticMounts: defaultStaticMounts(), preloadAvatars: [] });
    const page = await browser.newPage();
    try {
      const failed: string[] = [];
      page.on("requestfailed", (r) => failed.push(r.url()));
      origin.page("/strict/", `<!doctype html><script type="module" src="${strict.url}/lip-sync-player.bundle.js"></script>`);
      await page.goto(`${origin.url}/strict/`);
      await page.waitForFunction(() => document.readyState === "complete", undefined, { timeout: 10_000 });
      const ws = await page.evaluate((url) => new Promise((resolve) => {
        const s = new WebSocket(url);
        s.onopen = () => resolve("open");
        s.onclose = (e) => resolve(e.code);
      }), `${strict.url.replace("http", "ws")}/ws`);
      expect(await page.evaluate(() => customElements.get("lip-sync-player"))).toBeUndefined();
      expect(failed).toContain(`${strict.url}/lip-sync-player.bundle.js`);
      expect(ws).toBe(1006);
    } finally {
      await page.close();
      await strict.close();
    }
  });
});

describe("the packages as npm delivers them", () => {
  it("pack, install into a clean folder, run the Node snippet and the packed player", async () => {
    const tarballs = mkdtempSync(path.join(os.tmpdir(), "lipsync-packs-"));
    for (const pkg of ["proto", "client", "web-component", "server"]) {
      await run("pnpm", ["pack", "--pack-destination", tarballs], path.join(REPO_ROOT, "packages", pkg));
    }
    const files = readdirSync(tarballs);
    const tgz = (name: string) => path.join(tarballs, files.find((f) => f.startsWith(`lipsync-${name}-`))!);

    // The server's tarball: what `npx @lipsync/server` needs, and no workspace links left.
    const listing = execFileSync("tar", ["tzf", tgz("server")]).toString();
    for (const f of ["package/dist/cli.js", "package/dist/inference-worker.mjs", "package/public/index.html", "package/public/hello.wav", "package/README.md"]) expect(listing).toContain(f);
    const serverPkg = execFileSync("tar", ["xzOf", tgz("server"), "package/package.json"]).toString();
    expect(serverPkg).not.toContain("workspace:");
    const wcListing = execFileSync("tar", ["tzf", tgz("web-component")]).toString();
    for (const f of ["custom-elements.json", "types/react.d.ts", "types/vue.d.ts", "dist/lip-sync-player.bundle.js", "README.md"]) expect(wcListing).toContain(`package/${f}`);

    const app = mkdtempSync(path.join(os.tmpdir(), "lipsync-app-"));
    writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    await run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", tgz("proto"), tgz("client"), tgz("web-component")], app, 300_000);

    // The optional peer is missing: the Node entry says which package to install.
    const code = snippet("node").replaceAll("http://localhost:8080", server.url).replace('"models/heldout/gate-0.wav"', JSON.stringify(path.join(REPO_ROOT, "models", "heldout", "gate-0.wav")));
    writeFileSync(path.join(app, "speak.mjs"), code);
    const missing = await run(process.execPath, ["speak.mjs"], app).then(() => "", (e: { stderr: string }) => e.stderr);
    expect(missing).toContain("npm install @connectrpc/connect-node@2.1.2");
    await run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", "@connectrpc/connect-node@2.1.2"], app, 300_000);
    expect(await run(process.execPath, ["speak.mjs"], app)).toMatch(/^\d{2,} speech frames\n$/);

    // The packed bundle, from another origin, in Chromium.
    const bundleDir = path.join(app, "node_modules", "@lipsync", "web-component", "dist");
    origin.folder("/packed/", bundleDir);
    origin.page("/packed-page/", `<!doctype html><html><body>${snippet("web").replaceAll("http://localhost:8080/lip-sync-player.bundle.js", `${origin.url}/packed/lip-sync-player.bundle.js`).replaceAll("http://localhost:8080", server.url)}</body></html>`);
    const r = await speaksFromAnotherOrigin(`${origin.url}/packed-page/`, "#hello", "example-packed.png");
    expect(r.errors).toEqual([]);
    // Drawn frames, as above.
    expect(r.speech).toBeGreaterThan(20);
  }, 600_000);
});
