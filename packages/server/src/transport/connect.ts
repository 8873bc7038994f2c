/**
 * lipsync.v1.LipSyncService and grpc.health.v1.Health over Connect-RPC: one set of handlers
 * serves gRPC, gRPC-Web and Connect. Each handler decodes, calls the app, encodes.
 */
import { create } from "@bufbuild/protobuf";
import { ConnectError, Code, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import {
  AudioEncoding, GetAvatarResponseSchema, GetSourceFrameResponseSchema, GetStatsResponseSchema, ImageFormat, ListAvatarsResponseSchema,
  LipSyncService, LoadAvatarResponseSchema, RenderFrameResponseSchema, RenderFramesResponseSchema, SessionStartedSchema, SourceView,
  SpeakAudioResponseSchema, SpeakResponseSchema, StreamRenderResponseSchema, UnloadAvatarResponseSchema, health,
  type AudioFormat, type Frame, type SpeakAudioResponse, type SpeakRequest, type SpeakResponse, type StreamRenderRequest,
} from "@lipsync/proto";
import type { LipSyncApp, SourceView as AppView } from "../app.js";
import { SAMPLE_RATE } from "../audio/constants.js";
import { decodePcm, type PcmFormat } from "../audio/pcm.js";
import { parseWav } from "../audio/wav.js";
import type { Avatar } from "../avatar/avatar.js";
import { asLipSyncError, invalidArgument } from "../errors.js";
import type { Transport } from "../metrics.js";
import type { SessionOutput, SessionRunner } from "../session/session-runner.js";
import { avatarInfo, box, imageEncoding, renderedFrame, sessionFrame } from "./proto-convert.js";
import { checkAvatarAllowed } from "../auth.js";
import { principalOf } from "./access.js";
import { callSignal } from "./request-context.js";
import { toConnectError } from "./status.js";
import { ClipFeeder } from "../session/clip-feeder.js";
import { roomRoutes } from "./room-rpc.js";

function transportOf(ctx: HandlerContext): Transport {
  const type = ctx.requestHeader.get("content-type") ?? "";
  if (type.startsWith("application/grpc-web")) return "grpc-web";
  if (type.startsWith("application/grpc")) return "grpc";
  return "connect";
}

const VIEWS: Record<SourceView, AppView> = {
  [SourceView.UNSPECIFIED]: "full",
  [SourceView.FULL]: "full",
  [SourceView.CROP]: "crop",
  [SourceView.MASKED_CROP]: "masked-crop",
};

/** The raw PCM format of Speak chunks (and of a SpeakAudio clip that is not WAV). */
function pcmFormat(format: AudioFormat | undefined): PcmFormat & { rate: number } {
  if (!format) throw invalidArgument("audio_format is required");
  const encoding = format.encoding === AudioEncoding.PCM_S16LE ? "s16le" : format.encoding === AudioEncoding.PCM_F32LE ? "f32le" : undefined;
  if (!encoding) {
    throw invalidArgument(format.encoding === AudioEncoding.WAV
      ? "WAV is accepted by SpeakAudio only; stream raw PCM chunks to Speak"
      : "audio_format.encoding must be PCM_S16LE or PCM_F32LE");
  }
  const channels = format.channels === 0 ? 1 : format.channels;
  if (channels !== 1 && channels !== 2) throw invalidArgument(`audio_format.channels must be 1 or 2, got ${format.channels}`);
  return { encoding, rate: format.sampleRate, channels };
}

/** A whole SpeakAudio clip as mono samples and its rate. */
function decodeClip(format: AudioFormat | undefined, audio: Uint8Array): { samples: Float32Array; rate: number } {
  if (format?.encoding === AudioEncoding.WAV) {
    const wav = parseWav(audio);
    return { samples: wav.samples, rate: wav.sampleRate };
  }
  const pcm = pcmFormat(format);
  return { samples: decodePcm(audio, pcm.encoding, pcm.channels), rate: pcm.rate };
}

function started(id: string, app: LipSyncApp, avatar: Avatar) {
  return create(SessionStartedSchema, { sessionId: id, avatar: avatarInfo(app.summary(avatar)), samplesPerFrame: avatar.samplesPerFrame, clockRate: SAMPLE_RATE });
}

/**
 * Any end of the call (a reset of any code, a dropped connection) ends the session; the
 * returned release, for the handler's `finally`, ends it when the handler does.
 */
function bindToCall(app: LipSyncApp, runner: SessionRunner, ctx: HandlerContext): () => void {
  const signal = callSignal(ctx);
  const abort = () => app.closeSession(runner);
  signal.addEventListener("abort", abort);
  return () => {
    signal.removeEventListener("abort", abort);
    app.closeSession(runner);
  };
}

function speakResponse(out: SessionOutput): SpeakResponse {
  switch (out.type) {
    case "frame":
      return create(SpeakResponseSchema, { message: { case: "frame", value: sessionFrame(out.frame) } });
    case "speech-started":
      return create(SpeakResponseSchema, { message: { case: "speechStarted", value: { pts: BigInt(out.pts) } } });
    case "speech-ended":
      return create(SpeakResponseSchema, { message: { case: "speechEnded", value: { startPts: BigInt(out.startPts), endPts: BigInt(out.endPts), interrupted: out.interrupted } } });
    case "playback-finished":
      return create(SpeakResponseSchema, { message: { case: "playbackFinished", value: { position: BigInt(out.position), interrupted: out.interrupted } } });
    case "frames-dropped":
      return create(SpeakResponseSchema, { message: { case: "framesDropped", value: { startPts: BigInt(out.startPts), endPts: BigInt(out.endPts) } } });
  }
}

export function lipSyncRoutes(app: LipSyncApp) {
  const logger = app.logger;
  const unary = <I, O>(method: string, fn: (req: I, ctx: HandlerContext) => Promise<O>) =>
    async (req: I, ctx: HandlerContext): Promise<O> => {
      app.stats.request(method, transportOf(ctx));
      try {
        return await fn(req, ctx);
      } catch (err) {
        throw toConnectError(err, logger);
      }
    };
  const streaming = <I, O>(method: string, fn: (req: I, ctx: HandlerContext) => AsyncIterable<O>) =>
    async function* (req: I, ctx: HandlerContext): AsyncIterable<O> {
      app.stats.request(method, transportOf(ctx));
      try {
        yield* fn(req, ctx);
      } catch (err) {
        throw toConnectError(err, logger);
      }
    };

  return (router: ConnectRouter) => {
    router.service(LipSyncService, {
      listAvatars: unary("ListAvatars", async (_req, ctx) => {
        const allowed = principalOf(ctx)?.avatars;
        const avatars = (await app.listAvatars()).filter((a) => !allowed || allowed.includes(a.name));
        return create(ListAvatarsResponseSchema, { avatars: avatars.map(avatarInfo) });
      }),

      getAvatar: unary("GetAvatar", async (req, ctx) => {
        checkAvatarAllowed(principalOf(ctx), req.name);
        const a = await app.getAvatar(req.name);
        return create(GetAvatarResponseSchema, { avatar: avatarInfo(a.summary), cropBoxes: a.cropBoxes.map(box), mouthBox: box(a.mouthBox) });
      }),

      loadAvatar: unary("LoadAvatar", async (req) => {
        const r = await app.loadAvatar(req.name);
        return create(LoadAvatarResponseSchema, { avatar: avatarInfo(r.summary), loadMs: r.loadMs });
      }),

      unloadAvatar: unary("UnloadAvatar", async (req) =>
        create(UnloadAvatarResponseSchema, { unloaded: await app.unloadAvatar(req.name) })),

      getSourceFrame: unary("GetSourceFrame", async (req, ctx) => {
        checkAvatarAllowed(principalOf(ctx), req.avatar);
        const encoding = imageEncoding(req.format);
        const f = await app.sourceFrame(req.avatar, req.index, VIEWS[req.view] ?? "full", encoding);
        return create(GetSourceFrameResponseSchema, {
          image: f.image, format: encoding === "rgb" ? ImageFormat.RGB : ImageFormat.JPEG, width: f.width, height: f.height, cropBox: box(f.cropRect),
        });
      }),

      renderFrame: unary("RenderFrame", async (req, ctx) => {
        checkAvatarAllowed(principalOf(ctx), req.avatar);
        const encoding = imageEncoding(req.format);
        const [f] = await app.renderOwn(req.avatar, [req.index], encoding, req.quality || undefined, callSignal(ctx));
        return create(RenderFrameResponseSchema, { frame: renderedFrame(f!, req.index, encoding) });
      }),

      renderFrames: unary("RenderFrames", async (req, ctx) => {
        checkAvatarAllowed(principalOf(ctx), req.avatar);
        const t = performance.now();
        const encoding = imageEncoding(req.format);
        const frames = await app.renderOwn(req.avatar, req.indices, encoding, req.quality || undefined, callSignal(ctx));
        return create(RenderFramesResponseSchema, { frames: frames.map((f, i) => renderedFrame(f, req.indices[i]!, encoding)), totalMs: performance.now() - t });
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
              checkAvatarAllowed(principalOf(ctx), req.avatar);
              const encoding = imageEncoding(req.format);
              const p = app.renderOwn(req.avatar, [req.index], encoding, req.quality || undefined, signal).then(([f]) => renderedFrame(f!, req.index, encoding));
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

      speak: streaming("Speak", async function* (requests: AsyncIterable<SpeakRequest>, ctx: HandlerContext) {
        const iterator = requests[Symbol.asyncIterator]();
        const first = await iterator.next();
        if (first.done || first.value.message.case !== "config") throw invalidArgument("the first Speak message must be config");
        const config = first.value.message.value;
        const principal = principalOf(ctx);
        checkAvatarAllowed(principal, config.avatar);
        const format = pcmFormat(config.audioFormat);
        const session = await app.openSession({
          avatar: config.avatar, sampleRate: format.rate, chunkFormat: { encoding: format.encoding, channels: format.channels }, continuous: config.continuous,
          encoding: imageEncoding(config.imageFormat), quality: config.quality || undefined, patch: config.mouthPatch, client: principal,
        });
        const { runner } = session;
        const release = bindToCall(app, runner, ctx);
        const reader = (async () => {
          for (let r = await iterator.next(); !r.done; r = await iterator.next()) {
            const m = r.value.message;
            switch (m.case) {
              case "audio":
                runner.pushChunk(m.value.data);
                break;
              case "clear":
                runner.clear();
                break;
              case "end":
                runner.end();
                break;
              case "playbackPosition":
                runner.playbackPosition(Number(m.value.pts));
                break;
              case "config":
                throw invalidArgument("config may be sent only once, first");
              default:
                throw invalidArgument("empty or unknown Speak message");
            }
          }
          runner.finish();
        })();
        reader.catch((err) => runner.close(asLipSyncError(err)));
        try {
          yield create(SpeakResponseSchema, { message: { case: "started", value: started(session.id, app, session.avatar) } });
          for await (const out of app.outputs(runner)) yield speakResponse(out);
        } finally {
          release();
        }
      }),

      speakAudio: streaming("SpeakAudio", async function* (req: { avatar: string; audioFormat?: AudioFormat; audio: Uint8Array; imageFormat: ImageFormat; quality: number; mouthPatch: boolean }, ctx: HandlerContext) {
        const principal = principalOf(ctx);
        checkAvatarAllowed(principal, req.avatar);
        const { samples, rate } = decodeClip(req.audioFormat, req.audio);
        const session = await app.openSession({
          avatar: req.avatar, sampleRate: rate, continuous: false, encoding: imageEncoding(req.imageFormat), quality: req.quality || undefined,
          patch: req.mouthPatch, client: principal,
        });
        const { runner } = session;
        const release = bindToCall(app, runner, ctx);
        try {
          yield create(SpeakAudioResponseSchema, { message: { case: "started", value: started(session.id, app, session.avatar) } });
          // The whole clip is here: it goes in as rendering makes room.
          const feeder = new ClipFeeder(runner, samples, rate, app.config.clipFeedAheadSeconds, true);
          feeder.feed();
          for await (const out of app.outputs(runner)) {
            feeder.feed();
            const msg = speakAudioResponse(out);
            if (msg) yield msg;
          }
        } finally {
          release();
        }
      }),

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
          capacityUsed: app.capacityUsed,
          sessionsRefused: BigInt(s.sessionsRefused),
        });
      }),
    });

    // Readiness, for load balancers: NOT_SERVING without a loaded avatar, at capacity and
    // while draining for shutdown (LipSyncApp.readiness).
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

function speakAudioResponse(out: SessionOutput): SpeakAudioResponse | undefined {
  if (out.type === "frame") return create(SpeakAudioResponseSchema, { message: { case: "frame", value: sessionFrame(out.frame) } });
  if (out.type === "frames-dropped") return create(SpeakAudioResponseSchema, { message: { case: "framesDropped", value: { startPts: BigInt(out.startPts), endPts: BigInt(out.endPts) } } });
  if (out.type === "speech-ended") {
    return create(SpeakAudioResponseSchema, { message: { case: "speechEnded", value: { startPts: BigInt(out.startPts), endPts: BigInt(out.endPts), interrupted: out.interrupted } } });
  }
  return undefined;
}
