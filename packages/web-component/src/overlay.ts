/** The look of the player and its performance overlay. */
import { css, html } from "lit";
import type { PerfSnapshot } from "./perf.js";

export const playerStyles = css`
  :host { display: inline-block; position: relative; width: 512px; max-width: 100%; font: 12px/1.35 system-ui, sans-serif; }
  .stage { position: relative; width: 100%; aspect-ratio: 1; background: #202428; border-radius: 8px; overflow: hidden; }
  canvas[part="canvas"] { width: 100%; height: 100%; display: block; }
  .placeholder { position: absolute; inset: 0; display: grid; place-items: center; color: #e8e8e8; padding: 1em; text-align: center; background: rgba(20, 24, 28, 0.6); }
  .overlay { position: absolute; left: 6px; top: 6px; padding: 6px 8px; border-radius: 6px; background: rgba(0, 0, 0, 0.62); color: #f2f2f2; font-variant-numeric: tabular-nums; min-width: 190px; }
  .overlay table { border-collapse: collapse; }
  .overlay td { padding: 0 6px 0 0; white-space: nowrap; }
  .overlay td:nth-child(2) { text-align: right; }
  canvas.chart { display: block; margin-top: 4px; width: 190px; height: 44px; }
`;

const ms = (v: number | undefined) => (v === undefined ? "-" : `${v.toFixed(1)} ms`);

export function overlayTemplate(p: PerfSnapshot) {
  const rows: [string, string][] = [
    ["first frame", ms(p.firstFrameMs)],
    ["frame latency p50 / p99", `${p.latencyP50.toFixed(0)} / ${p.latencyP99.toFixed(0)} ms`],
    ["fps received / drawn", `${p.fpsReceived} / ${p.fpsDrawn}`],
    ["buffer depth", `${p.bufferDepth}`],
    ["A/V offset p50 / p99", `${p.avOffsetMs.toFixed(1)} / ${p.avOffsetP99.toFixed(1)} ms`],
    ["late frames skipped", `${p.skipped}`],
    ["server inference", ms(p.server.inference)],
    ["server composite / encode", `${p.server.composite.toFixed(1)} / ${p.server.encode.toFixed(1)} ms`],
    ["server total (batch)", `${p.server.total.toFixed(1)} ms (${p.server.batch.toFixed(0)})`],
  ];
  return html`<div class="overlay" part="overlay">
    <table>${rows.map(([k, v]) => html`<tr><td>${k}</td><td>${v}</td></tr>`)}</table>
    <canvas class="chart" width="190" height="44" title="frame latency (green) and buffer depth (blue)"></canvas>
  </div>`;
}

/** A sparkline of frame latency (green, ms) and buffer depth (blue, frames). */
export function drawChart(canvas: HTMLCanvasElement, latency: readonly number[], depth: readonly number[]): void {
  const g = canvas.getContext("2d");
  if (!g) return;
  const { width: w, height: h } = canvas;
  g.clearRect(0, 0, w, h);
  const line = (values: readonly number[], colour: string) => {
    if (values.length < 2) return;
    const max = Math.max(1, ...values);
    g.strokeStyle = colour;
    g.beginPath();
    values.forEach((v, i) => {
      const x = (i / (values.length - 1)) * (w - 1);
      const y = h - 1 - (v / max) * (h - 2);
      if (i) g.lineTo(x, y);
      else g.moveTo(x, y);
    });
    g.stroke();
  };
  line(latency.slice(-100), "#5ad17a");
  line(depth.slice(-100), "#5aa9e6");
}
