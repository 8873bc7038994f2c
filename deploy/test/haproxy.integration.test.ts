/**
 * HAProxy (Debian's, with deploy/haproxy/haproxy.cfg as shipped) in front of three real
 * `lipsync serve` processes with small capacities (2, 2, 3; weights to match), sessions over
 * both WebSocket and gRPC (h2c) through its one port:
 * - sessions fill every server before any is refused, and a full server gets no new session;
 * - with every server full, a client gets the server's own retryable refusal (WebSocket 4429,
 *   gRPC RESOURCE_EXHAUSTED, each with its retry hint), not the balancer's 503;
 * - SIGTERM of one server during live sessions: its utterance finishes, new sessions go to the
 *   others, and no session loses a frame.
 * Frames are not dropped for lateness here (--max-latency-ms 60000): two shared cores run three
 * servers, and what is measured is the balancer and the drain, not the machine's speed.
 */
import { writeFileSync, mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, REPO_ROOT, serve, start, stopAll, until, type Served } from "./procs.js";
import { isRefusal, openGrpc, openWs, SAMPLES_PER_FRAME, type LiveSession, type Refusal, type Utterance } from "./sessions.js";

const CAPACITIES = [2, 2, 3];
const SHIPPED = path.join(REPO_ROOT, "deploy", "haproxy", "haproxy.cfg");

interface Server extends Served {
  name: string;
  capacity: number;
}

let servers: Server[] = [];
let haproxy: ReturnType<typeof start> | undefined;
let lb = "";
let statsUrl = "";

/** The shipped config with its two server blocks listing `servers` (weight in proportion to capacity). */
export function withServers(config: string, list: { name: string; port: number; capacity: number }[]): string {
  const lines = list.map((s) => `    server ${s.name} 127.0.0.1:${s.port} weight ${s.capacity * 10}`).join("\n");
  const out = config.replace(/( *# BEGIN servers[^\n]*\n)[\s\S]*?( *# END servers)/g, `$1${lines}\n$2`);
  if (out.split("# BEGIN servers").length !== 3) throw new Error("haproxy.cfg must have two server blocks");
  return out;
}

/** HAProxy's view: status per backend and server ("UP", "DOWN", ...). */
async function states(): Promise<Map<string, string>> {
  const csv = await (await fetch(`${statsUrl};csv`)).text();
  const [header, ...rows] = csv.trim().split("\n");
  const cols = header!.replace(/^# /, "").split(",");
  const at = (row: string[], name: string) => row[cols.indexOf(name)] ?? "";
  return new Map(rows.map((r) => r.split(",")).map((r) => [`${at(r, "pxname")}/${at(r, "svname")}`, at(r, "status").split(" ")[0]!]));
}

const stateOf = async (backend: string, server: Server) => (await states()).get(`${backend}/${server.name}`);

/** What a server itself says: live sessions and whether it takes more (its /readyz). */
async function readyz(s: Server): Promise<{ ready: boolean; sessions: number; reason: string }> {
  return (await (await fetch(`${s.url}/readyz`)).json()) as { ready: boolean; sessions: number; reason: string };
}

async function refusedTotal(s: Server): Promise<number> {
  const text = await (await fetch(`${s.url}/metrics`)).text();
  return Number(/^lipsync_sessions_refused_total(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? NaN);
}

const counts = () => Promise.all(servers.map(async (s) => (await readyz(s)).sessions));

/** Every frame of an utterance of `seconds`: one per 640 samples, contiguous, none dropped. */
function expectWhole(u: Utterance, seconds: number, what: string): void {
  const frames = Math.round((seconds * 16_000) / SAMPLES_PER_FRAME);
  expect(u.dropped, `${what}: frames dropped`).toBe(0);
  expect(u.interrupted, `${what}: interrupted`).toBe(false);
  expect(u.endPts - u.startPts, `${what}: utterance length`).toBe(frames * SAMPLES_PER_FRAME);
  expect(u.pts.length, `${what}: speech frames`).toBe(frames);
  expect(u.pts, `${what}: pts`).toEqual(Array.from({ length: frames }, (_, i) => u.startPts + i * SAMPLES_PER_FRAME));
}

/** Opens a session through the balancer, alternating protocols; fails on a refusal. */
async function open(i: number): Promise<LiveSession> {
  const s = await (i % 2 ? openGrpc(lb) : openWs(lb));
  if (isRefusal(s)) throw new Error(`session ${i} refused: ${s.code} ${s.message}`);
  return s;
}

/**
 * Opens a session and names the server it landed on (the one whose count went up), checking the
 * routing rule: least connections relative to weight (weight = capacity), among servers with room.
 */
async function openTracked(i: number): Promise<{ session: LiveSession; server: Server }> {
  const before = await counts();
  // HAProxy's leastconn key: streams served over weight, the lowest wins (ties: any of them).
  const load = (k: number) => before[k]! / servers[k]!.capacity;
  const open_ = servers.map((_, k) => k).filter((k) => before[k]! < servers[k]!.capacity && servers[k]!.proc.exitCode === null);
  const best = Math.min(...open_.map(load));
  const expected = open_.filter((k) => load(k) === best).map((k) => servers[k]!.name);
  const session = await open(i);
  let after = before;
  await until(async () => (after = await counts()).reduce((a, b) => a + b, 0) > before.reduce((a, b) => a + b, 0), `session ${i} counted by a server`);
  const grew = servers.filter((_, k) => after[k]! > before[k]!);
  expect(grew).toHaveLength(1);
  expect(expected, `session ${i} with sessions ${before.join(", ")} per server`).toContain(grew[0]!.name);
  return { session, server: grew[0]! };
}

beforeAll(async () => {
  const started = await Promise.all(CAPACITIES.map((capacity) => serve([
    "serve", "--port", "0", "--host", "127.0.0.1", "--capacity", String(capacity), "--max-latency-ms", "60000",
    "--threads", "1", "--drain-seconds", "30", "--log-level", "warn",
  ])));
  servers = started.map((s, i) => ({ ...s, name: `lipsync${i + 1}`, capacity: CAPACITIES[i]! }));
  const dir = mkdtempSync(path.join(os.tmpdir(), "lipsync-haproxy-"));
  const cfg = path.join(dir, "haproxy.cfg");
  writeFileSync(cfg, withServers(readFileSync(SHIPPED, "utf8"), servers));
  const [listen, stats] = [await freePort(), await freePort()];
  lb = `http://127.0.0.1:${listen}`;
  statsUrl = `http://127.0.0.1:${stats}/stats`;
  haproxy = start("haproxy", ["-db", "-f", cfg], { ...process.env, LIPSYNC_LISTEN: `127.0.0.1:${listen}`, LIPSYNC_STATS: `127.0.0.1:${stats}` });
  await until(async () => {
    try {
      const st = await states();
      return servers.every((s) => st.get(`lipsync/${s.name}`) === "UP" && st.get(`lipsync_full/${s.name}`) === "UP");
    } catch {
      return false;
    }
  }, `HAProxy up with every server UP (${haproxy.output().slice(-500)})`, 20_000);
}, 180_000);

afterAll(stopAll);

describe("HAProxy in front of three lipsync servers", () => {
  it("fills every server before refusing, and then refuses with the server's retryable answer", async () => {
    const sessions: LiveSession[] = [];
    const total = CAPACITIES.reduce((a, b) => a + b, 0);
    for (let i = 0; i < total; i++) {
      const { session, server } = await openTracked(i);
      sessions.push(session);
      // A full server never gets the next session: its count stays within its capacity.
      expect((await readyz(server)).sessions).toBeLessThanOrEqual(server.capacity);
    }
    expect(await counts()).toEqual(CAPACITIES);
    // Not one refusal on the way: each session found a server with room.
    expect(await Promise.all(servers.map(refusedTotal))).toEqual([0, 0, 0]);
    // Every session works through the balancer, on both protocols.
    const spoken = await Promise.all(sessions.map((s) => s.speak(0.6, "burst")));
    spoken.forEach((u, i) => expectWhole(u, 0.6, `session ${i} (${sessions[i]!.kind})`));

    // All full: HAProxy takes each out of `lipsync`, and the next sessions go to `lipsync_full`.
    await until(async () => {
      const st = await states();
      return servers.every((s) => st.get(`lipsync/${s.name}`) === "DOWN");
    }, "every server DOWN in lipsync once full", 10_000);
    const ws = (await openWs(lb)) as Refusal;
    const grpc = (await openGrpc(lb)) as Refusal;
    expect(ws).toMatchObject({ code: 4429, retryAfterSeconds: 2 });
    expect(ws.message).toMatch(/at capacity/);
    expect(grpc).toMatchObject({ code: Code.ResourceExhausted, retryAfterSeconds: 2 });
    // Refused by servers, and admitted nowhere.
    expect((await Promise.all(servers.map(refusedTotal))).reduce((a, b) => a + b, 0)).toBe(2);
    expect(await counts()).toEqual(CAPACITIES);

    // Room again on one server: it is back in rotation and takes the next session.
    sessions[0]!.close();
    await until(async () => (await counts()).reduce((a, b) => a + b, 0) === total - 1, "a closed session released");
    const freed = servers[(await counts()).findIndex((n, k) => n < CAPACITIES[k]!)]!;
    await until(async () => (await stateOf("lipsync", freed)) === "UP", `${freed.name} UP again`, 10_000);
    const next = await openTracked(total);
    expect(next.server.name).toBe(freed.name);
    for (const s of [...sessions.slice(1), next.session]) s.close();
    await until(async () => (await counts()).every((n) => n === 0), "every session closed");
  }, 120_000);

  it("on SIGTERM of one server, lets its utterance finish, sends new sessions elsewhere and loses no frame", async () => {
    await until(async () => {
      const st = await states();
      return servers.every((s) => st.get(`lipsync/${s.name}`) === "UP");
    }, "every server UP", 10_000);
    // One session on each server (leastconn puts each on the emptiest).
    const live: { session: LiveSession; server: Server }[] = [];
    for (let i = 0; i < 3; i++) live.push(await openTracked(i));
    expect(new Set(live.map((l) => l.server.name)).size).toBe(3);
    // Least connections, not a rotation: a session that ends makes its server the emptiest, and
    // the next session goes there.
    live[1]!.session.close();
    await until(async () => (await counts()).reduce((a, b) => a + b, 0) === 2, "a closed session released");
    const again = await openTracked(1);
    expect(again.server.name).toBe(live[1]!.server.name);
    live[1] = again;
    const victim = live[0]!.server;
    const others = servers.filter((s) => s !== victim);

    // 4 s utterances in real time: the victim's has most of its audio still to come at SIGTERM.
    const SECONDS = 4;
    const utterances = live.map((l) => l.session.speak(SECONDS, "realtime"));
    // Under way on the server: its first frames are out (and most of its audio still to come).
    await until(() => live[0]!.session.received() > 0, "the victim's first speech frame", 10_000);
    const signalledAt = performance.now();
    victim.proc.kill("SIGTERM");
    await until(async () => (await stateOf("lipsync", victim)) === "DOWN", `${victim.name} DOWN after SIGTERM`, 5000);

    // New sessions while it drains: both land on the others.
    const before = await Promise.all(others.map(async (s) => (await readyz(s)).sessions));
    const fresh = [await open(1), await open(0)];
    const after = await Promise.all(others.map(async (s) => (await readyz(s)).sessions));
    expect(after.reduce((a, b) => a + b, 0) - before.reduce((a, b) => a + b, 0)).toBe(2);
    const freshUtterances = fresh.map((s) => s.speak(1, "burst"));

    const done = await Promise.all(utterances);
    done.forEach((u, i) => expectWhole(u, SECONDS, `session on ${live[i]!.server.name}${live[i]!.server === victim ? " (drained)" : ""}`));
    (await Promise.all(freshUtterances)).forEach((u, i) => expectWhole(u, 1, `new session ${i} during the drain`));
    // The drained server waited for its utterance (not its 30 s deadline), ended the session as
    // "going away" and exited 0.
    const drained = await live[0]!.session.ended;
    expect(drained.code).toBe(live[0]!.session.kind === "ws" ? 1001 : Code.Unavailable);
    expect(await victim.exited).toBe(0);
    expect(performance.now() - signalledAt).toBeGreaterThan(SECONDS * 1000 * 0.7);
    expect(performance.now() - signalledAt).toBeLessThan(20_000);
    for (const l of live.slice(1)) l.session.close();
    for (const s of fresh) s.close();
  }, 120_000);
});
