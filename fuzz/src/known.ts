/**
 * Known findings: defects the fuzzer finds that are already filed and being fixed elsewhere.
 * They are counted apart (each result's `known`), not failed, so the run stays a useful gate
 * meanwhile; every entry names its issue item. Match narrowly (case name and answer), so that a
 * new defect never hides behind a known one, and delete an entry once its fix lands: a count
 * that stays at 0 says it can go.
 */
import type { CaseResult } from "./transport.js";
import type { KnownMatch } from "./oracle.js";

export interface Known {
  id: string;
  transports: readonly string[];
  /** Case names this finding shows up in (a prefix of FuzzCase.name). */
  cases: RegExp;
  /** The failing answer it produces. */
  answer: RegExp;
}

export const KNOWN: readonly Known[] = [
  // None today. The last (WebSocket 1009 and 1007 arriving as 1006) was fixed in transport/ws.ts.
];

export function knownFinding(transport: string, caseName: string, result: CaseResult, known: readonly Known[] = KNOWN): KnownMatch | undefined {
  const k = known.find((x) => x.transports.includes(transport) && x.cases.test(caseName) && x.answer.test(`${result.verdict.failure}: ${result.verdict.detail}`));
  return k ? { id: k.id } : undefined;
}
