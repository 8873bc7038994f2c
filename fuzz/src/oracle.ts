/**
 * What counts as a good answer to hostile input, and the tally of cases.
 *
 * An answer is good when it is a documented status and its message carries no file system path
 * or stack trace:
 * - gRPC / gRPC-Web: a `grpc-status` the server's status table (transport/status.ts) can
 *   produce, never INTERNAL (13) or UNKNOWN (2) for bad input; or HTTP 415 for a content type
 *   that is not gRPC (the gRPC spec's answer).
 * - Connect: an HTTP status of the Connect protocol's code table with a JSON error naming the
 *   matching code (500 / "internal" is a failure), or the plain 404 / 405 / 415 / 413 answers
 *   to a request that is not an RPC at all.
 * - WebSocket: a close code from the table in docs/protocol.md (1011, "internal error", is a
 *   failure), 1000/1005 for a normal close, or an `error` message with a documented code.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "./child.js";

/** gRPC codes the server sends for bad input (transport/status.ts, and connect-es's own). */
export const GRPC_OK_CODES = new Set([0, 1, 3, 4, 5, 6, 7, 8, 9, 11, 12, 14, 16]);
export const GRPC_INTERNAL = new Set([2, 13]);

/** Connect protocol: error code -> HTTP status (connectrpc.com/docs/protocol#error-codes). */
export const CONNECT_HTTP: Record<string, number> = {
  canceled: 499, unknown: 500, invalid_argument: 400, deadline_exceeded: 504, not_found: 404, already_exists: 409,
  permission_denied: 403, resource_exhausted: 429, failed_precondition: 400, aborted: 409, out_of_range: 400,
  unimplemented: 501, internal: 500, unavailable: 503, data_loss: 500, unauthenticated: 401,
};

/** The WebSocket close codes docs/protocol.md documents, read from its table. */
export function documentedCloseCodes(): Set<number> {
  const doc = readFileSync(path.join(REPO_ROOT, "docs", "protocol.md"), "utf8");
  const codes = new Set<number>([1000, 1005]);
  for (const m of doc.matchAll(/^\|\s*(\d{4})\s*\|/gm)) codes.add(Number(m[1]));
  return codes;
}

/** JSON error codes of docs/protocol.md's error messages (errors.ts's ErrorCode). */
export const WS_ERROR_CODES = new Set(["invalid_argument", "not_found", "already_exists", "failed_precondition", "resource_exhausted", "unavailable", "deadline_exceeded", "cancelled", "permission_denied", "unauthenticated"]);
/** Binary ERROR statuses (HTTP-like), docs/protocol.md. */
export const WS_BINARY_STATUSES = new Set([400, 401, 403, 404, 412, 429, 503]);

// A path of our machine (absolute, or a module file with a line number) or a V8 stack frame.
const LEAKS = [
  /(^|[\s'"(=:])\/(?:work|home|root|tmp|usr|opt|var|proc|etc|srv|mnt)\//,
  /node_modules/,
  /file:\/\//,
  /\.(?:[cm]?[jt]s|mjs|node|so)(?::\d+){1,2}\b/,
  /\n\s+at\s|^\s*at\s.+\(.+:\d+:\d+\)/m,
  /\b(?:TypeError|RangeError|ReferenceError|SyntaxError): /,
];

/** The first leak found in a message sent to a client, or undefined. */
export function findLeak(message: string | undefined): string | undefined {
  if (!message) return undefined;
  for (const re of LEAKS) {
    const m = re.exec(message);
    if (m) return message.slice(Math.max(0, m.index - 20), m.index + 60);
  }
  return undefined;
}

export type FailureKind =
  | "hang" | "internal" | "undocumented" | "leak" | "no_status" | "server_died" | "healthz_failed" | "healthz_slow" | "rss" | "fd";

export interface Verdict {
  /** undefined: a good answer. */
  failure?: FailureKind;
  /** What was seen, for the report. */
  detail: string;
}

/** A finding we know of (listed in known.ts): counted apart, not failed. */
export interface KnownMatch {
  id: string;
}

const EXAMPLES = 5;

/** Cases, failures by kind (with a few replayable examples) and known findings, per transport. */
export class Tally {
  cases = 0;
  readonly failures = new Map<FailureKind, number>();
  readonly known = new Map<string, number>();
  readonly examples: { kind: string; case: string; seed: number; detail: string }[] = [];
  /** Answers seen, by status, for the report: which paths did the cases reach. */
  readonly answers = new Map<string, number>();

  record(caseName: string, seed: number, answer: string, verdict: Verdict, known: KnownMatch | undefined): void {
    this.cases++;
    this.answers.set(answer, (this.answers.get(answer) ?? 0) + 1);
    if (!verdict.failure) return;
    if (known) {
      this.known.set(known.id, (this.known.get(known.id) ?? 0) + 1);
      return;
    }
    this.fail(verdict.failure, caseName, seed, verdict.detail);
  }

  fail(kind: FailureKind, caseName: string, seed: number, detail: string): void {
    this.failures.set(kind, (this.failures.get(kind) ?? 0) + 1);
    if (this.examples.filter((e) => e.kind === kind).length < EXAMPLES) this.examples.push({ kind, case: caseName, seed, detail: detail.slice(0, 300) });
  }

  get failed(): number {
    let n = 0;
    for (const v of this.failures.values()) n += v;
    return n;
  }
}
