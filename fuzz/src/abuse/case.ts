/** What an abuse case is, gets and gives back (run.ts runs them; cases-*.ts are the rows). */
import type { ServerChild } from "../child.js";
import type { Rng } from "../rng.js";
import type { Meanwhile } from "./clients.js";
import type { CraftedRoot } from "./packages.js";

/** How big the floods are, and the server bounds they run against. */
export interface Scale {
  name: "ci" | "full";
  /** Silent connections per flooding address, and how many addresses flood. */
  floodPerAddress: number;
  floodAddresses: number;
  /** Connections that send half a request head. */
  slowHeaders: number;
  /** The server's --connections-per-address, --handshake-timeout-ms, --headers-timeout-ms. */
  perAddressCap: number;
  handshakeMs: number;
  headersMs: number;
}

export const SCALES: Record<Scale["name"], Scale> = {
  // 2 cores, well under a minute for all rows: floods of a thousand, short timeouts.
  ci: { name: "ci", floodPerAddress: 500, floodAddresses: 2, slowHeaders: 200, perAddressCap: 64, handshakeMs: 2000, headersMs: 2000 },
  // The sizes (row 7: 2 x 10,000 connections; the client needs as many descriptors) and the server's defaults.
  full: { name: "full", floodPerAddress: 9000, floodAddresses: 2, slowHeaders: 200, perAddressCap: 256, handshakeMs: 10_000, headersMs: 15_000 },
};

export interface CaseContext {
  child: ServerChild;
  root: CraftedRoot;
  rng: Rng;
  scale: Scale;
}

export interface CaseOutcome {
  /** Empty: the case passed. */
  failures: string[];
  /** What was measured (times in ms, counts), for the report. */
  figures: Record<string, unknown>;
  /** The bystander's figures, taken while the attack was under way. */
  meanwhile?: Meanwhile;
}

export interface AbuseCase {
  /** The row of issue 17's table. */
  row: number;
  name: string;
  /**
   * The issue item whose fix this case waits for: its failure is reported as known, not failed
   * (as fuzz/src/known.ts does). Delete the mark when the fix lands.
   */
  known?: string;
  /** Whether the case ends the server (it runs last). */
  endsServer?: boolean;
  run(ctx: CaseContext): Promise<CaseOutcome>;
}

/** Collects failures: `check(false, "what")` records one. */
export function checker(): { failures: string[]; check: (ok: boolean, what: string) => void } {
  const failures: string[] = [];
  return { failures, check: (ok, what) => (ok ? undefined : void failures.push(what)) };
}
