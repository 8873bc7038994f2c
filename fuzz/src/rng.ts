/**
 * A small seeded generator (mulberry32): the same seed gives the same cases, so a failure found
 * once is found again with `--seed S`. Each transport draws from its own stream (seed mixed with
 * the transport's name), so adding cases to one transport does not shift another's.
 */
export class Rng {
  private state: number;

  constructor(seed: number, stream = "") {
    let h = seed >>> 0;
    for (let i = 0; i < stream.length; i++) h = Math.imul(h ^ stream.charCodeAt(i), 0x9e3779b1) >>> 0;
    this.state = h || 1;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** Picks by weight: [[weight, value], ...]. */
  weighted<T>(items: readonly (readonly [number, T])[]): T {
    const total = items.reduce((s, [w]) => s + w, 0);
    let x = this.next() * total;
    for (const [w, v] of items) {
      if ((x -= w) < 0) return v;
    }
    return items[items.length - 1]![1];
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = (this.next() * 256) | 0;
    return out;
  }

  /** A seed for a sub-generator (one per case, so a case can be replayed alone). */
  fork(): Rng {
    return new Rng((this.next() * 4294967296) >>> 0);
  }
}

/**
 * Random damage to a valid encoding: flipped bits, cut short, bytes inserted or removed, a region
 * overwritten, or duplicated. Structure-aware fuzzing starts from a valid message and mutates it.
 */
export function mutate(rng: Rng, input: Uint8Array): Uint8Array {
  const b = Uint8Array.from(input);
  switch (rng.int(0, 5)) {
    case 0: {
      for (let k = rng.int(1, 4); k > 0 && b.length; k--) b[rng.int(0, b.length - 1)]! ^= 1 << rng.int(0, 7);
      return b;
    }
    case 1:
      return b.subarray(0, rng.int(0, Math.max(0, b.length - 1)));
    case 2: {
      const at = rng.int(0, b.length);
      return concat(b.subarray(0, at), rng.bytes(rng.int(1, 16)), b.subarray(at));
    }
    case 3: {
      if (b.length < 2) return rng.bytes(rng.int(1, 8));
      const at = rng.int(0, b.length - 1);
      return concat(b.subarray(0, at), b.subarray(Math.min(b.length, at + rng.int(1, 8))));
    }
    case 4: {
      for (let i = rng.int(0, b.length), end = Math.min(b.length, i + rng.int(1, 8)); i < end; i++) b[i] = rng.pick([0x00, 0xff, 0x7f, 0x80, rng.int(0, 255)]);
      return b;
    }
    default:
      return concat(b, b);
  }
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
