/**
 * Limits on connections before any protocol has a say: how many one client address may hold,
 * and how long a connection may take to say what it is. A TCP connection costs its peer
 * nothing and the server a descriptor; without these, 20,000 connections that never send a
 * byte took every descriptor of the process, and /healthz and new sessions were refused for
 * everyone.
 *
 * An address is a client's IPv4 address, or the /64 of an IPv6 one (a single host is commonly
 * given a whole /64, so counting its addresses one by one would bound nothing).
 */
import { isIPv6 } from "node:net";
import type { Duplex } from "node:stream";

/** The counting key of a peer address, or undefined when the socket has none (it is gone). */
export function addressKey(address: string | undefined): string | undefined {
  if (!address) return undefined;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1];
  if (!isIPv6(address)) return address;
  const bare = address.split("%")[0]!;
  // An embedded IPv4 address (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) is two groups of the low half.
  const parts = (s: string) => (s ? s.split(":").flatMap((g) => (g.includes(".") ? ["0", "0"] : [g])) : []);
  const cut = bare.indexOf("::");
  const left = parts(cut < 0 ? bare : bare.slice(0, cut));
  const right = cut < 0 ? [] : parts(bare.slice(cut + 2));
  const groups = cut < 0 ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(":")}::/64`;
}

export interface GateSocket extends Duplex {
  remoteAddress?: string | undefined;
}

/** How often `onRefused` may be told about one address, ms. */
const REPORT_EVERY_MS = 60_000;

/** Counts open connections per address and refuses those past `maxPerAddress` (0: no limit). */
export class ConnectionGate {
  private readonly counts = new Map<string, number>();
  private readonly reported = new Map<string, number>();

  constructor(private readonly maxPerAddress: number, private readonly onRefused: (key: string) => void = () => undefined) {}

  /**
   * Counts `socket` until it closes; false when its address already holds `maxPerAddress`
   * connections (then nothing is counted: the caller destroys it).
   */
  admit(socket: GateSocket): boolean {
    const key = addressKey(socket.remoteAddress);
    if (key === undefined) return false;
    const n = this.counts.get(key) ?? 0;
    if (this.maxPerAddress > 0 && n >= this.maxPerAddress) {
      const now = performance.now();
      if (now - (this.reported.get(key) ?? -Infinity) >= REPORT_EVERY_MS) {
        if (this.reported.size >= 1000) this.reported.clear();
        this.reported.set(key, now);
        this.onRefused(key);
      }
      return false;
    }
    this.counts.set(key, n + 1);
    socket.once("close", () => {
      const left = (this.counts.get(key) ?? 1) - 1;
      if (left > 0) this.counts.set(key, left);
      else this.counts.delete(key);
    });
    return true;
  }

  /** Open connections of the address `address` belongs to. */
  count(address: string): number {
    return this.counts.get(addressKey(address) ?? "") ?? 0;
  }
}

/**
 * Destroys `socket` unless `settled()` is called within `ms`: the bound on how long a
 * connection may take to send its first bytes, finish a handshake or its HTTP/2 SETTINGS.
 */
export function deadline(socket: { destroy(): void; once(event: "close", listener: () => void): unknown }, ms: number): () => void {
  if (!(ms > 0)) return () => undefined;
  const timer = setTimeout(() => socket.destroy(), ms);
  timer.unref();
  const settled = () => clearTimeout(timer);
  socket.once("close", settled);
  return settled;
}
