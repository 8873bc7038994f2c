/**
 * lipsync.v1.LipSyncService and grpc.health.v1.Health over Connect-RPC: one set of handlers
 * serves gRPC, gRPC-Web and Connect. Each handler decodes, calls the app, encodes; the two speech
 * streams are in connect-speak.ts. Statuses come from status.ts only.
 */
import { create } from "@bufbuild/protobuf";
import { ConnectError, Code, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import {
  GetAvatarResponseSchema, GetSourceFrameResponseSchema, GetStatsResponseSchema, ListAvatarsResponseSchema, LipSyncService, LoadAvatarResponseSchema,
  RenderFrameResponseSchema, RenderFramesResponseSchema, StreamRenderResponseSchema, UnloadAvatarResponseSchema, health,
  type Frame, type StreamRenderRequest,
} from "@lipsync/proto";
import type { LipSyncApp } from "../app.js";
import { box, encodingOf, formatOf } from "../engine/frame.js";
import { principalOf } from "./access.js";
import { speakHandlers } from "./connect-speak.js";
import { callSignal } from "./request-context.js";
import { protocolOf } from "./rpc-metrics.js";
import { toConnectError } from "./status.js";
import { roomRoutes } from "./room-rpc.js";

/** Wraps a handler: counts the request, maps whatever it throws to a status (status.ts). */
export function handlers(app: LipSyncApp) {
  const unary = <I, O>(method: string, fn: (req: I, ctx: HandlerContext) => Promise<O>) =>
    async (req: I, ctx: HandlerContext): Promise<O> => {
      app.stats.request(method, protocolOf(ctx.requestHeader.get("content-type")));
      try {
        return await fn(req, ctx);
      } catch (err) {
        throw toConnectError(err, app.logger);
      }
    };
  const streaming = <I, O>(method: string, fn: (req: I, ctx: HandlerContext) => AsyncIterable<O>) =>
    async function* (req: I, ctx: HandlerContext): AsyncIterable<O> {
      app.stats.request(method, protocolOf(ctx.requestHeader.get("content-type")));
      try {
        yield* fn(req, ctx);
      } catch (err) {
        throw toConnectError(err, app.logger);
      }
    };
  return { unary, streaming };
}

export function lipSyncRoutes(app: LipSyncApp) {
  const { unary, streaming } = handlers(app);
  const { catalogue, oneShot } = app;
  const quality = (q: number) => q || undefined;

  return (router: ConnectRouter) => {
    router.service(LipSyncService, {
      listAvatars: unary("ListAvatars", async (_req, ctx) => create(ListAvatarsResponseSchema, { avatars: await catalogue.list(principalOf(ctx)) })),

      getAvatar: unary("GetAvatar", async (req, ctx) => create(GetAvatarResponseSchema, await catalogue.describe(principalOf(ctx), req.name))),

      loadAvatar: unary("LoadAvatar", async (req) => create(LoadAvatarResponseSchema, await catalogue.load(req.name))),

      unloadAvatar: unary("UnloadAvatar", async (req) => create(UnloadAvatarResponseSchema, { unloaded: await app.unloadAvatar(req.name) })),

      getSourceFrame: unary("GetSourceFrame", async (req, ctx) => {
        const encoding = encodingOf(req.format);
        const f = await oneShot.sourceFrame(principalOf(ctx), req.avatar, req.index, req.view, encoding);
        return create(GetSourceFrameResponseSchema, { image: f.image, format: formatOf(encoding), width: f.width, height: f.height, cropBox: box(f.cropRect) });
      }),

      renderFrame: unary("RenderFrame", async (req, ctx) => {
        const [frame] = await oneShot.renderOwn(principalOf(ctx), req.avatar, [req.index], encodingOf(req.format), quality(req.quality), callSignal(ctx));
        return create(RenderFrameResponseSchema, { frame });
      }),

      renderFrames: unary("RenderFrames", async (req, ctx) => {
        const t = performance.now();
        const frames = await oneShot.renderOwn(principalOf(ctx), req.avatar, req.indices, encodingOf(req.format), quality(req.quality), callSignal(ctx));
        return create(RenderFramesResponseSchema, { frames, totalMs: performance.now() - t });
      }),

      streamRender: streaming("StreamRender", async function* (requests: AsyncIterable<StreamRenderRequest>, ctx: HandlerContext) {
        const signal = callSignal(ctx);
        // Render each request as it arrives, so a burst batches; answer in request order.
        const pending: Promise<Frame>[] = [];
        let readError: unknown;
        let readDone = false;
        let wake = () => {};
        void (async () => {
          try {
            for await (const req of requests) {
              const p = oneShot.renderOwn(principalOf(ctx), req.avatar, [req.index], encodingOf(req.format), quality(req.quality), signal).then(([f]) => f!);
              p.catch(() => undefined);
              pending.push(p);
              wake();
            }
          } catch (err) {
            readError = err;
          }
          readDone = true;
          wake();
        })();
        for (;;) {
          const head = pending.shift();
          if (head) {
            yield create(StreamRenderResponseSchema, { frame: await head });
            continue;
          }
          if (readError) throw readError;
          if (readDone) return;
          await new Promise<void>((resolve) => (wake = resolve));
        }
      }),

      ...speakHandlers(app, streaming),

      ...roomRoutes(app, unary),

      getStats: unary("GetStats", async () => {
        const s = app.stats;
        return create(GetStatsResponseSchema, {
          requests: Object.fromEntries([...s.requests].map(([k, v]) => [k, BigInt(v)])),
          transports: Object.fromEntries([...s.transports].map(([k, v]) => [k, BigInt(v)])),
          stages: s.stages().map((x) => ({ stage: x.stage, p50Ms: x.p50, p99Ms: x.p99, count: x.count })),
          framesRendered: BigInt(s.framesRendered),
          activeSessions: s.activeSessions,
          websocketClients: s.websocketClients,
          meanBatchSize: s.meanBatchSize,
          uptimeSeconds: (Date.now() - s.startedAt) / 1000,
          framesDropped: BigInt(s.framesDropped),
          capacityUsed: app.admission.used,
          sessionsRefused: BigInt(s.sessionsRefused),
        });
      }),
    });

    // Readiness, for load balancers: NOT_SERVING without a loaded avatar, at capacity and
    // while draining for shutdown (Admission.readiness).
    const Status = health.HealthCheckResponse_ServingStatus;
    const status = () => (app.readiness().serving ? Status.SERVING : Status.NOT_SERVING);
    router.service(health.Health, {
      check(req) {
        if (req.service !== "" && req.service !== LipSyncService.typeName) throw new ConnectError("unknown service", Code.NotFound);
        return { status: status() };
      },
      async *watch(req, ctx) {
        const signal = callSignal(ctx);
        if (req.service !== "" && req.service !== LipSyncService.typeName) {
          yield { status: Status.SERVICE_UNKNOWN };
        } else {
          // Sends the status, then every change of it, until the client goes.
          let last: number | undefined;
          while (!signal.aborted) {
            const now = status();
            if (now !== last) yield { status: now };
            last = now;
            await new Promise<void>((resolve) => {
              const t = setTimeout(resolve, app.config.healthWatchMs);
              signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
            });
          }
        }
        await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));
      },
    });
  };
}
