/**
 * The WebSocket protocol of /ws (docs/protocol.md) without the socket: JSON text messages and
 * binary messages in, messages and close decisions out through a `WsPeer`. The transport
 * (ws.ts) feeds it the messages of a real socket; unit tests feed it bytes and read what it sends.
 *
 * A session is the session protocol (session/protocol.ts): "start" opens it, audio, end, clear
 * and playback_position become commands, and its events become messages. Request/response
 * messages are ws-requests.ts's. Protocol violations (bad JSON, unknown types, truncated binary,
 * audio before start, a second start) and session errors close the socket with a code and a
 * reason (status.ts: internal errors never say more than their reference).
 */
import { setMaxListeners } from "node:events";
import type { LipSyncApp } from "../app.js";
import type { Principal } from "../auth.js";
import { invalidArgument, LipSyncError } from "../errors.js";
import type { LiveSession } from "../session/live-session.js";
import type { SessionCommand } from "../session/protocol.js";
import type { Access } from "./access.js";
import { closeReason, forPeer, WS_CLOSE } from "./status.js";
import { decodeBinaryRequest, encodeFrame } from "./ws-binary.js";
import { frameJson, parseJsonRequest, sessionEventJson, type JsonRequest } from "./ws-json.js";
import { REQUEST_TYPES, WsRequests, type RequestMessage } from "./ws-requests.js";

/** What the protocol needs of a socket. */
export interface WsPeer {
  /** Whether messages can still be sent. */
  readonly open: boolean;
  send(data: string | Uint8Array): void;
  /**
   * Sends, resolving when the peer can take more: at once while its buffer is short, else once
   * this message is written (a slow reader holds the session's bounded queue back). Rejects when
   * the socket closes.
   */
  sendAsync(data: string | Uint8Array): Promise<void>;
  close(code: number, reason: string): void;
}

type StartMessage = Extract<JsonRequest, { type: "start" }>;

/** A JSON session message as a command. */
function command(req: Extract<JsonRequest, { type: "audio" | "end" | "clear" | "playback_position" }>): SessionCommand {
  if (req.type === "audio") return { type: "audio", data: req.data };
  if (req.type === "playback_position") return { type: "position", pts: req.pts };
  return { type: req.type };
}

export class WsConnection {
  private binary = false;
  private session: LiveSession | undefined;
  /** Commands that arrived while the session was starting, in order. */
  private pending: SessionCommand[] | undefined;
  statsSubscribed = false;
  /** Aborted when the socket closes: its requests' frames not yet rendered never will be. */
  private readonly closed = new AbortController();
  private readonly requests: WsRequests;

  /**
   * `principal`: who authenticated on this socket (undefined in tests without access control);
   * `access`: the per-client rate limit of request messages.
   */
  constructor(private readonly app: LipSyncApp, private readonly peer: WsPeer, private readonly principal?: Principal, access?: Access) {
    setMaxListeners(0, this.closed.signal);
    this.requests = new WsRequests(app, (data) => this.send(data), principal, access, this.closed.signal);
  }

  /** One message from the peer: a text message's UTF-8 bytes, or a binary message. */
  onMessage(data: Uint8Array, isBinary: boolean): void {
    try {
      if (isBinary) this.onBinary(data);
      else this.onJson(parseJsonRequest(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8")));
    } catch (err) {
      this.fail(err);
    }
  }

  /** The socket closed (either side): the session ends and its pending work is cancelled. */
  onClose(): void {
    this.closed.abort();
    this.session?.close();
    this.session = undefined;
    this.pending = undefined;
  }

  /** Closes the socket for a protocol violation or a session failure. */
  fail(err: unknown): void {
    const e = forPeer(err, this.app.logger);
    const hint = e.retryAfterMs === undefined ? "" : ` (retry in ${Math.ceil(e.retryAfterMs / 1000)} s)`;
    if (this.peer.open) this.peer.close(WS_CLOSE[e.code], closeReason(e.message + hint));
    this.onClose();
  }

  sendStats(): void {
    this.send(JSON.stringify(this.requests.statsJson()));
  }

  private onJson(req: JsonRequest): void {
    this.app.stats.request(`ws:${req.type}`, "ws-json");
    if (REQUEST_TYPES.has(req.type)) {
      if (req.type === "get_stats") this.statsSubscribed = true;
      this.requests.json(req as RequestMessage);
      return;
    }
    switch (req.type) {
      case "switch_to_binary":
        this.binary = true;
        this.send(JSON.stringify({ type: "protocol_info", binary_supported: true, binary_protocol_version: "2.0" }));
        return;
      case "start":
        this.start(req);
        return;
      case "audio":
      case "end":
      case "clear":
      case "playback_position":
        this.onCommand(req.type, command(req));
        return;
    }
  }

  private onBinary(bytes: Uint8Array): void {
    const req = decodeBinaryRequest(bytes);
    this.app.stats.request(`ws:${req.type}`, "ws-binary");
    if (req.type === "audio") this.onCommand("audio", { type: "audio", data: req.data });
    else this.requests.binary(req);
  }

  private onCommand(name: string, cmd: SessionCommand): void {
    if (this.session) this.session.send(cmd);
    else if (this.pending) this.pending.push(cmd);
    else throw new LipSyncError("failed_precondition", `"${name}" before "start"`);
  }

  private start(req: StartMessage): void {
    if (this.session || this.pending) throw invalidArgument("a session is already started on this socket");
    this.pending = [];
    const binaryFrames = req.binaryFrames || this.binary;
    this.app.sessions.open(this.principal, {
      avatar: req.avatar, audio: { sampleRate: req.sampleRate, encoding: req.encoding, channels: req.channels }, continuous: req.continuous, encoding: "jpeg",
      patch: req.patch, ...(req.quality === undefined ? {} : { quality: req.quality }),
    }).then((session) => {
      const pending = this.pending;
      if (!this.peer.open || !pending) {
        session.close();
        return;
      }
      this.session = session;
      this.pending = undefined;
      void this.forward(session, binaryFrames);
      for (const cmd of pending) session.send(cmd);
    }, (err: unknown) => this.fail(err));
  }

  /** Sends the session's events in order, waiting while the socket's buffer is full. */
  private async forward(session: LiveSession, binaryFrames: boolean): Promise<void> {
    try {
      for await (const e of session.events) {
        if (e.type === "error") throw e.error;
        if (e.type === "cleared") continue;
        if (e.type === "frame") await this.sendAsync(binaryFrames ? encodeFrame(e.frame) : JSON.stringify(frameJson(e.frame)));
        else await this.sendAsync(JSON.stringify(sessionEventJson(e)));
      }
      if (this.session === session) {
        this.session = undefined;
        this.send(JSON.stringify({ type: "session_closed" }));
      }
    } catch (err) {
      if (this.session === session) this.fail(err);
    }
  }

  private send(data: string | Uint8Array): void {
    if (this.peer.open) this.peer.send(data);
  }

  private sendAsync(data: string | Uint8Array): Promise<void> {
    if (!this.peer.open) return Promise.reject(new LipSyncError("unavailable", "socket closed"));
    return this.peer.sendAsync(data);
  }
}
