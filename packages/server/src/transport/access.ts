/**
 * Access control at the edge, the same on every protocol: where a request carries its bearer
 * token, who the caller is (auth.ts), and the per-client rate limit on request/response calls.
 *
 * - gRPC, gRPC-Web, Connect: `authorization: Bearer TOKEN`, checked by an interceptor on every
 *   RPC but grpc.health (load balancers probe it without credentials).
 * - WebSocket /ws: browsers cannot set headers, so also `?token=TOKEN` in the URL or the
 *   subprotocol `bearer.TOKEN` (offered beside `lipsync`, which the server then selects).
 * - Plain routes: /metrics needs a token; /healthz, /readyz, the player page and its files are
 *   public.
 */
import type { IncomingHttpHeaders } from "node:http";
import { createContextKey, type ContextValues, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import { Authenticator, checkAdmin, type AuthOptions, type Principal } from "../auth.js";
import { LipSyncError } from "../errors.js";
import type { Logger } from "../logger.js";
import { TokenBucket } from "./h2-guard.js";
import { requestContext } from "./request-context.js";
import { toConnectError } from "./status.js";
import { requestUrl } from "./request-target.js";

/** The subprotocol a WebSocket client offers beside `bearer.TOKEN`. */
export const WS_SUBPROTOCOL = "lipsync";
const BEARER_PROTOCOL = "bearer.";

/** Idle clients' rate buckets are forgotten past this many clients. */
const MAX_TRACKED_CLIENTS = 10_000;
/** Least retry hint, ms: retry-after goes out in whole seconds, and 0 would mean "at once". */
const MIN_RETRY_MS = 1000;

export interface AccessOptions extends AuthOptions {
  /** Request/response calls a client may make per second, on average; 0: no limit. */
  rateLimit: number;
  /** Calls a client may make in a burst. */
  rateBurst: number;
}

const PRINCIPAL = createContextKey<Principal | undefined>(undefined, { description: "lipsync principal" });

/** The caller of an RPC, as the access interceptor found it. */
export function principalOf(ctx: Pick<HandlerContext, "values">): Principal | undefined {
  return ctx.values.get(PRINCIPAL);
}

/** The token of an `authorization: Bearer TOKEN` header. */
export function bearerToken(value: string | null | undefined): string | undefined {
  const m = /^Bearer +(\S+) *$/i.exec(value ?? "");
  return m?.[1];
}

/** The token a WebSocket upgrade carries: header, `?token=`, or subprotocol `bearer.TOKEN`. */
export function wsToken(url: string | undefined, headers: IncomingHttpHeaders): string | undefined {
  const header = bearerToken(headers.authorization);
  if (header) return header;
  const query = requestUrl(url)?.searchParams.get("token");
  if (query) return query;
  const offered = String(headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim());
  return offered.find((p) => p.startsWith(BEARER_PROTOCOL))?.slice(BEARER_PROTOCOL.length) || undefined;
}

/**
 * The subprotocol to answer a handshake with: `lipsync` when offered, else the first offered
 * that is not `bearer.TOKEN`, else none. A token offered as a subprotocol is never echoed (the
 * 101 response's Sec-WebSocket-Protocol is what proxies log): a client that offered it alone
 * gets no subprotocol back, which browsers and the ws library treat as a failed handshake, so
 * it must offer `lipsync` beside it (docs/protocol.md, "Authentication").
 */
export function selectSubprotocol(offered: Set<string>): string | false {
  if (offered.has(WS_SUBPROTOCOL)) return WS_SUBPROTOCOL;
  for (const p of offered) if (!p.startsWith(BEARER_PROTOCOL)) return p;
  return false;
}

export class Access {
  readonly auth: Authenticator;
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private readonly options: AccessOptions) {
    this.auth = new Authenticator(options);
  }

  /** Throws UNAUTHENTICATED when authentication is on and `token` is missing or invalid. */
  authenticate(token: string | undefined, remoteAddress: string): Principal {
    return this.auth.authenticate(token, remoteAddress);
  }

  /** Spends one request/response call of `principal`'s budget, or RESOURCE_EXHAUSTED with a retry hint. */
  rateLimit(principal: Principal): void {
    if (this.options.rateLimit <= 0) return;
    let bucket = this.buckets.get(principal.id);
    if (!bucket) {
      if (this.buckets.size >= MAX_TRACKED_CLIENTS) this.buckets.clear();
      bucket = new TokenBucket(this.options.rateBurst, this.options.rateLimit);
      this.buckets.set(principal.id, bucket);
    }
    if (!bucket.take()) {
      throw new LipSyncError("resource_exhausted", `rate limit of ${this.options.rateLimit} calls a second exceeded; retry later`, { retryAfterMs: Math.max(MIN_RETRY_MS, bucket.waitMs()) });
    }
  }

  /** The interceptor that authenticates every RPC but health checks and rate-limits unary ones. */
  interceptor(logger: Logger): Interceptor {
    return (next) => async (req) => {
      if (req.service.typeName === "grpc.health.v1.Health") return next(req);
      try {
        const principal = this.authenticate(bearerToken(req.header.get("authorization")), requestContext({ values: req.contextValues })?.remoteAddress ?? "");
        (req.contextValues as ContextValues).set(PRINCIPAL, principal);
        if (req.method.name === "LoadAvatar" || req.method.name === "UnloadAvatar") checkAdmin(principal, req.method.name);
        if (!req.stream) this.rateLimit(principal);
      } catch (err) {
        throw toConnectError(err, logger);
      }
      return next(req);
    };
  }
}
