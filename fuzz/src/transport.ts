/** What every transport's fuzzer offers the driver (main.ts). */
import type { KnownMatch, Verdict } from "./oracle.js";
import type { Rng } from "./rng.js";

export interface CaseResult {
  /** The answer's short name (a status, a close code), tallied to show which paths were reached. */
  answer: string;
  verdict: Verdict;
}

export interface FuzzCase {
  /** What kind of hostile input, e.g. "unary/length-long" (known.ts matches on it). */
  name: string;
  /** Never rejects: every outcome is a CaseResult. */
  run(): Promise<CaseResult>;
}

export interface FuzzTransport {
  readonly name: string;
  /** The next case, drawn from `rng` (a generator of its own, so a case replays from its seed). */
  next(rng: Rng): FuzzCase;
  close(): Promise<void>;
}

export type { KnownMatch };

/** Resolves after `ms`, or with the promise, whichever comes first. */
export function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(onTimeout()), ms);
    p.then((v) => {
      clearTimeout(t);
      resolve(v);
    }, () => {
      clearTimeout(t);
      resolve(onTimeout());
    });
  });
}
