/** Performance figures for the overlay: what the player measured and what the server reported. */

export class Series {
  private values: number[] = [];

  constructor(private readonly capacity = 200) {}

  add(v: number): void {
    this.values.push(v);
    if (this.values.length > this.capacity) this.values.shift();
  }

  percentile(p: number): number {
    if (!this.values.length) return 0;
    const s = [...this.values].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  }

  get recent(): readonly number[] {
    return this.values;
  }

  get last(): number {
    return this.values[this.values.length - 1] ?? 0;
  }

  clear(): void {
    this.values = [];
  }
}

/** Events per second over a sliding second. */
export class Rate {
  private times: number[] = [];

  tick(now: number): void {
    this.times.push(now);
    while (this.times.length && this.times[0]! < now - 1000) this.times.shift();
  }

  perSecond(now: number): number {
    while (this.times.length && this.times[0]! < now - 1000) this.times.shift();
    return this.times.length;
  }
}

export interface PerfSnapshot {
  firstFrameMs: number | undefined;
  latencyP50: number;
  latencyP99: number;
  fpsReceived: number;
  fpsDrawn: number;
  bufferDepth: number;
  avOffsetMs: number;
  avOffsetP99: number;
  skipped: number;
  server: { inference: number; composite: number; encode: number; total: number; batch: number };
}

export class PerfMonitor {
  firstFrameMs: number | undefined;
  readonly latency = new Series();
  readonly avOffset = new Series();
  readonly depth = new Series();
  readonly received = new Rate();
  readonly drawn = new Rate();
  readonly server = { inference: new Series(), composite: new Series(), encode: new Series(), total: new Series(), batch: new Series() };

  snapshot(now: number, depth: number, skipped: number): PerfSnapshot {
    return {
      firstFrameMs: this.firstFrameMs,
      latencyP50: this.latency.percentile(0.5),
      latencyP99: this.latency.percentile(0.99),
      fpsReceived: this.received.perSecond(now),
      fpsDrawn: this.drawn.perSecond(now),
      bufferDepth: depth,
      avOffsetMs: this.avOffset.percentile(0.5),
      avOffsetP99: this.avOffset.percentile(0.99),
      skipped,
      server: {
        inference: this.server.inference.percentile(0.5), composite: this.server.composite.percentile(0.5), encode: this.server.encode.percentile(0.5),
        total: this.server.total.percentile(0.5), batch: this.server.batch.percentile(0.5),
      },
    };
  }
}
