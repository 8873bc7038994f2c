/**
 * deploy/grafana/lipsync.json: every metric any query (panels and template variables) names is
 * one a real `lipsync serve` exports on /metrics (a histogram as _bucket, _sum and _count), and
 * every label a query selects or groups by is on that metric's samples, once the server has
 * served a live session and an RPC.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, serve, stopAll, type Served } from "./procs.js";
import { isRefusal, openWs } from "./sessions.js";

const DASHBOARD = path.join(REPO_ROOT, "deploy", "grafana", "lipsync.json");
/** Labels Prometheus itself adds to every scraped series, and le of histogram buckets. */
const TARGET_LABELS = new Set(["job", "instance", "pod", "namespace"]);
const KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "inf", "nan"]);

interface Panel { title?: string; targets?: { expr: string }[]; panels?: Panel[] }

/** Every PromQL expression of the dashboard, with where it is. */
function expressions(dashboard: { panels: Panel[]; templating: { list: { name: string; definition?: string }[] } }): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  const walk = (ps: Panel[]) => {
    for (const p of ps) {
      for (const t of p.targets ?? []) out.push({ where: `panel "${p.title}"`, expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating.list) {
    const m = /^label_values\((.*),\s*\w+\)$/.exec(v.definition ?? "");
    if (m) out.push({ where: `variable $${v.name}`, expr: m[1]! });
  }
  return out;
}

/** Metric names an expression reads, the labels it matches on each, and the labels it groups by. */
export function parseExpr(expr: string): { metrics: Map<string, Set<string>>; grouped: Set<string> } {
  const metrics = new Map<string, Set<string>>();
  const grouped = new Set<string>();
  let rest = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\[[^\]]*\]/g, "");
  rest = rest.replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (_, labels: string) => {
    for (const l of labels.split(",").map((s) => s.trim()).filter(Boolean)) grouped.add(l);
    return " ";
  });
  rest = rest.replace(/([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}/g, (_, name: string | undefined, matchers: string) => {
    const labels = new Set(matchers.split(",").map((s) => /^\s*([a-zA-Z_]\w*)/.exec(s)?.[1]).filter((l): l is string => Boolean(l)));
    if (name) metrics.set(name, new Set([...(metrics.get(name) ?? []), ...labels]));
    return " ";
  });
  for (const m of rest.matchAll(/\$?[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?/g)) {
    const token = m[0].replace(/\s*\($/, "");
    if (m[1] || token.startsWith("$") || KEYWORDS.has(token.toLowerCase())) continue;
    if (!metrics.has(token)) metrics.set(token, new Set());
  }
  return { metrics, grouped };
}

/** What a /metrics page exports: series names (histograms as _bucket/_sum/_count) and the labels seen on each. */
export function exported(text: string): Map<string, Set<string>> {
  const series = new Map<string, Set<string>>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\w+)$/gm)) {
    const [name, type] = [m[1]!, m[2]!];
    const names = type === "histogram" ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : type === "summary" ? [name, `${name}_sum`, `${name}_count`] : [name];
    for (const n of names) series.set(n, new Set());
  }
  for (const m of text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}/gm)) {
    const labels = series.get(m[1]!);
    if (labels) for (const l of m[2]!.matchAll(/([a-zA-Z_]\w*)="/g)) labels.add(l[1]!);
  }
  return series;
}

/** Problems of one expression against what the server exports; empty when it is sound. */
export function problems(expr: string, series: Map<string, Set<string>>): string[] {
  const { metrics, grouped } = parseExpr(expr);
  const out: string[] = [];
  if (metrics.size === 0) out.push("names no metric");
  for (const [name, labels] of metrics) {
    const have = series.get(name);
    if (!have) {
      out.push(`${name} is not exported`);
      continue;
    }
    for (const l of labels) if (!TARGET_LABELS.has(l) && !have.has(l)) out.push(`${name} has no label ${l}`);
  }
  for (const l of grouped) {
    if (TARGET_LABELS.has(l)) continue;
    if (![...metrics.keys()].some((n) => series.get(n)?.has(l))) out.push(`no metric of the query has label ${l} (grouped by)`);
  }
  return out;
}

let server: Served | undefined;
let page = "";

beforeAll(async () => {
  server = await serve(["serve", "--port", "0", "--host", "127.0.0.1", "--capacity", "2", "--max-latency-ms", "60000", "--log-level", "warn"]);
  // One live session with an utterance (frames, stages, first frame) and one RPC, so that the
  // labelled series have samples.
  const s = await openWs(server.url);
  if (isRefusal(s)) throw new Error(`session refused: ${s.message}`);
  await s.speak(0.4, "burst");
  const r = await fetch(`${server.url}/lipsync.v1.LipSyncService/RenderFrame`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ avatar: "demo", index: 3 }) });
  expect(r.status).toBe(200);
  page = await (await fetch(`${server.url}/metrics`)).text();
  s.close();
}, 120_000);

afterAll(stopAll);

describe("deploy/grafana/lipsync.json", () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8"));
  const exprs = expressions(dashboard);

  it("queries only metrics and labels the server exports", () => {
    const series = exported(page);
    expect(series.get("lipsync_active_sessions")).toBeDefined();
    // The process says which device it serves on (--device, cpu here).
    expect(page).toMatch(/^lipsync_device_info\{device="cpu"\} 1$/m);
    expect(exprs.length).toBeGreaterThan(15);
    const found = exprs.flatMap(({ where, expr }) => problems(expr, series).map((p) => `${where}: ${p}`));
    expect(found).toEqual([]);
  });

  it("shows sessions against capacity, frame latency, drops, first-frame latency, stage times and per-RPC status", () => {
    const all = exprs.map((e) => e.expr).join("\n");
    expect(all).toMatch(/lipsync_capacity_used\{/);
    expect(all).toMatch(/lipsync_capacity_sessions\{/);
    expect(all).toMatch(/lipsync_stage_seconds_bucket\{[^}]*stage="total"/);
    expect(all).toMatch(/lipsync_frames_total\{[^}]*kind="dropped"/);
    expect(all).toMatch(/lipsync_first_frame_seconds_bucket/);
    expect(all).toMatch(/by \(le, stage\)/);
    expect(all).toMatch(/by \(grpc_method, grpc_code\) \(rate\(grpc_server_handled_total/);
    expect(all).toMatch(/lipsync_sessions_refused_total/);
    expect(all).toMatch(/by \(device\)/);
    expect(all).toMatch(/group_left \(device\) lipsync_device_info/);
  });

  it("has a checker that catches a metric or label the server does not export", () => {
    const series = exported(page);
    expect(problems("sum(rate(lipsync_frames_rendered_total[5m]))", series)).toEqual(["lipsync_frames_rendered_total is not exported"]);
    expect(problems('sum(rate(lipsync_frames_total{kind="speech", avatar="demo"}[1m]))', series)).toEqual(["lipsync_frames_total has no label avatar"]);
    expect(problems("histogram_quantile(0.99, sum by (le) (rate(lipsync_first_frame_seconds[5m])))", series)).toEqual(["lipsync_first_frame_seconds is not exported", "no metric of the query has label le (grouped by)"]);
    expect(problems("sum by (gpu) (lipsync_active_sessions)", series)).toEqual(["no metric of the query has label gpu (grouped by)"]);
    expect(problems("vector(1)", series)).toEqual(["names no metric"]);
    expect(problems("sum by (device) (lipsync_active_sessions * on (instance) group_left (device) lipsync_device_info)", series)).toEqual([]);
    expect(problems("lipsync_active_sessions * on (instance) group_left (gpu) lipsync_device_info", series)).toEqual(["no metric of the query has label gpu (grouped by)"]);
  });
});
