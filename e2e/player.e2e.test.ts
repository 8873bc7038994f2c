import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultStaticMounts, REPO_ROOT } from "../packages/server/src/static-mounts.js";
import { CLOCK_RATE, DEFAULT_FRAME_SECONDS } from "../packages/web-component/src/clock.js";
import type { RunningServer } from "../packages/server/src/server.js";
import { testServer } from "../packages/server/test/harness.js";
import { launchChromium } from "./browser.js";

const OUT = path.join(REPO_ROOT, "test-output");
const FRAME_PERIOD_S = DEFAULT_FRAME_SECONDS;

interface Drawn {
  pts: number;
  kind: "speech" | "idle";
  drawnAt: number;
  dueAt: number;
}

let server: RunningServer;
let browser: Browser;
let page: Page;

async function start(port = 0): Promise<RunningServer> {
  return testServer({ port, staticMounts: defaultStaticMounts() });
}

/** Records the player's events in the page, so tests read them back in order. */
async function record(p: Page): Promise<void> {
  await p.evaluate(() => {
    const w = window as unknown as { events: { type: string; detail: unknown; t: number }[] };
    w.events = [];
    const player = document.querySelector("lip-sync-player")!;
    for (const type of ["frame", "speechstart", "speechend", "error", "ready"]) {
      player.addEventListener(type, (e) => w.events.push({ type, detail: (e as CustomEvent).detail, t: performance.now() }));
    }
  });
}

const events = (p: Page) => p.evaluate(() => (window as unknown as { events: { type: string; detail: any }[] }).events);
const clearEvents = (p: Page) => p.evaluate(() => ((window as unknown as { events: unknown[] }).events = []));
const waitFor = (p: Page, type: string, timeout = 30_000) =>
  p.waitForFunction((t) => (window as unknown as { events: { type: string }[] }).events.some((e) => e.type === t), type, { timeout });
/** Waits until `n` frames of `kind` were drawn since the events were cleared, or since the first `after` event. */
const waitForFrames = (p: Page, kind: "speech" | "idle", n: number, after?: string, timeout = 30_000) =>
  p.waitForFunction(({ kind, n, after }) => {
    const all = (window as unknown as { events: { type: string; detail: { kind?: string } }[] }).events;
    const start = after === undefined ? 0 : all.findIndex((e) => e.type === after) + 1;
    if (after !== undefined && start === 0) return false; // `after` has not happened yet
    return all.slice(start).filter((e) => e.type === "frame" && e.detail.kind === kind).length >= n;
  }, { kind, n, after }, { timeout });

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  server = await start();
  browser = await launchChromium();
  page = await browser.newPage();
  await page.goto(`${server.url}/`);
  await record(page);
  await page.waitForFunction(() => (document.querySelector("lip-sync-player") as unknown as { shadowRoot: ShadowRoot }).shadowRoot?.querySelector(".placeholder") === null, undefined, { timeout: 30_000 });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe("<lip-sync-player> in Chromium", () => {
  it("plays a bundled clip with every frame drawn in pts order on the audio clock", async () => {
    await clearEvents(page);
    await page.evaluate(() => (document.querySelector("lip-sync-player") as any).speak("/samples/gate-0.wav"));
    // A second of speech in: the screenshot shows the mouth mid-utterance.
    await waitForFrames(page, "speech", 25, "speechstart");
    await page.screenshot({ path: path.join(OUT, "player-speech.png") });
    await waitFor(page, "speechend");
    const all = await events(page);
    const speech: Drawn[] = all.filter((e) => e.type === "frame" && e.detail.kind === "speech").map((e) => e.detail);
    expect(all.some((e) => e.type === "speechstart")).toBe(true);
    expect(speech.length).toBeGreaterThan(60);
    for (let i = 1; i < speech.length; i++) expect(speech[i]!.pts).toBeGreaterThan(speech[i - 1]!.pts);
    for (const f of speech) {
      expect(f.drawnAt - f.dueAt).toBeGreaterThanOrEqual(-1e-6);
      expect(f.drawnAt - f.dueAt).toBeLessThanOrEqual(FRAME_PERIOD_S);
    }
  });

  it("loops the idle footage when silent, on the player's clock", async () => {
    await clearEvents(page);
    await waitForFrames(page, "idle", 15);
    const idle: Drawn[] = (await events(page)).filter((e) => e.type === "frame" && e.detail.kind === "idle").map((e) => e.detail);
    for (let i = 1; i < idle.length; i++) expect(idle[i]!.pts).toBeGreaterThan(idle[i - 1]!.pts);
    expect(new Set(idle.map((e) => (e as unknown as { sourceIndex: number }).sourceIndex)).size).toBeGreaterThan(5);
    // Each idle frame is the one due when it is drawn: pts advance with the clock, within a frame.
    const first = idle[0]!;
    const last = idle[idle.length - 1]!;
    expect(Math.abs((last.pts - first.pts) / CLOCK_RATE - (last.drawnAt - first.drawnAt))).toBeLessThan(FRAME_PERIOD_S);
  });

  it("returns to idle at once on clear()", async () => {
    await clearEvents(page);
    await page.evaluate(() => (document.querySelector("lip-sync-player") as any).speak("/samples/gate-1.wav"));
    await waitForFrames(page, "speech", 5, "speechstart");
    await page.evaluate(() => (document.querySelector("lip-sync-player") as any).clear());
    await waitForFrames(page, "idle", 4, "speechend");
    const all = await events(page);
    const end = all.findIndex((e) => e.type === "speechend");
    expect(all[end]!.detail.interrupted).toBe(true);
    const after = all.slice(end + 1).filter((e) => e.type === "frame");
    expect(after.length).toBeGreaterThan(3);
    expect(after.every((e) => e.detail.kind === "idle")).toBe(true);
  });

  it("lip-syncs the microphone (Chromium's fake device)", async () => {
    await clearEvents(page);
    await page.evaluate(() => (document.querySelector("lip-sync-player") as any).startMicrophone());
    await page.waitForFunction(() => (window as any).events.filter((e: any) => e.type === "frame" && e.detail.kind === "speech").length > 10, undefined, { timeout: 30_000 });
    await page.evaluate(() => (document.querySelector("lip-sync-player") as any).stopMicrophone());
    const speech: Drawn[] = (await events(page)).filter((e) => e.type === "frame" && e.detail.kind === "speech").map((e) => e.detail);
    for (let i = 1; i < speech.length; i++) expect(speech[i]!.pts).toBeGreaterThan(speech[i - 1]!.pts);
    await page.evaluate(() => (document.querySelector("lip-sync-player") as any).clear());
  });

  it("reports undecodable audio and an unknown avatar, showing idle or a placeholder", async () => {
    await clearEvents(page);
    const err = await page.evaluate(() => (document.querySelector("lip-sync-player") as any).speak(new Blob(["not audio at all"])).then(() => "", (e: Error) => e.message));
    expect(err).toMatch(/could not be decoded/);
    expect((await events(page)).find((e) => e.type === "error")!.detail.message).toMatch(/could not be decoded/);

    const other = await browser.newPage();
    await other.goto(`${server.url}/`);
    await other.evaluate(() => {
      (window as any).errors = [];
      const p = document.querySelector("lip-sync-player")!;
      p.addEventListener("error", (e) => (window as any).errors.push((e as CustomEvent).detail.message));
      p.setAttribute("avatar", "ghost");
    });
    await other.waitForFunction(() => (window as any).errors.length > 0, undefined, { timeout: 15_000 });
    expect((await other.evaluate(() => (window as any).errors))[0]).toMatch(/not found/);
    const placeholder = await other.evaluate(() => (document.querySelector("lip-sync-player") as any).shadowRoot.querySelector(".placeholder")?.textContent);
    expect(placeholder).toMatch(/not found/);
    await other.close();
  });

  it("survives the server going away mid-speech and recovers when it is back", async () => {
    const own = await start();
    const port = own.port;
    const p = await browser.newPage();
    await p.goto(`${own.url}/`);
    await record(p);
    await p.waitForFunction(() => (document.querySelector("lip-sync-player") as any).shadowRoot?.querySelector(".placeholder") === null, undefined, { timeout: 30_000 });
    await p.evaluate(() => (document.querySelector("lip-sync-player") as any).speak("/samples/gate-2.wav"));
    await waitFor(p, "speechstart");
    await clearEvents(p);
    await own.close();
    await waitFor(p, "error", 15_000);
    const again = await start(port);
    try {
      // It reconnects by itself; speaking again works once it is back.
      await waitFor(p, "ready", 30_000);
      await clearEvents(p);
      const wav = await (await fetch(`${again.url}/samples/gate-3.wav`)).arrayBuffer();
      await p.evaluate(async (bytes) => (document.querySelector("lip-sync-player") as any).speak(new Uint8Array(bytes).buffer), [...new Uint8Array(wav)]);
      await waitFor(p, "speechend");
      expect((await events(p)).filter((e) => e.type === "frame" && e.detail.kind === "speech").length).toBeGreaterThan(20);
      await p.screenshot({ path: path.join(OUT, "player-recovered.png") });
    } finally {
      await p.close();
      await again.close();
    }
  });
});
