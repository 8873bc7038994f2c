/**
 * The avatar's reports to the agent, as LiveKit's avatar protocol has them: `lk.playback_started`
 * (empty payload) when an utterance starts playing and `lk.playback_finished`
 * ({"playback_position": seconds, "interrupted": bool}) when it ends or is cut. Sent in order,
 * each tried 3 times 0.1 s apart as LiveKit's own avatar runner does. An agent that does not wait
 * for playback starts has no `lk.playback_started` method: that answer is not an error.
 */
import type { Logger } from "../../logger.js";

export const RPC_CLEAR_BUFFER = "lk.clear_buffer";
export const RPC_PLAYBACK_STARTED = "lk.playback_started";
export const RPC_PLAYBACK_FINISHED = "lk.playback_finished";

const ATTEMPTS = 3;
const RETRY_MS = 100;
/** How long the agent may take to answer one call, ms. */
const RESPONSE_TIMEOUT_MS = 5000;
/** LiveKit's RpcError code for a method the other side never registered. */
const UNSUPPORTED_METHOD = 1400;

export type PerformRpc = (params: { destinationIdentity: string; method: string; payload: string; responseTimeout: number }) => Promise<string>;

export class AgentReports {
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly perform: PerformRpc, private readonly agent: () => string | undefined, private readonly logger: Logger) {}

  playbackStarted(): void {
    this.enqueue(RPC_PLAYBACK_STARTED, "");
  }

  playbackFinished(positionSeconds: number, interrupted: boolean): void {
    this.enqueue(RPC_PLAYBACK_FINISHED, JSON.stringify({ playback_position: positionSeconds, interrupted }));
  }

  /** Resolves once every report queued so far has been sent (or given up on). */
  idle(): Promise<void> {
    return this.chain;
  }

  /** Reports still queued are dropped; the one in flight finishes. Resolves when it has. */
  close(): Promise<void> {
    this.closed = true;
    return this.chain;
  }

  private enqueue(method: string, payload: string): void {
    if (this.closed) return;
    this.chain = this.chain.then(() => this.send(method, payload));
  }

  private async send(method: string, payload: string): Promise<void> {
    for (let attempt = 1; attempt <= ATTEMPTS && !this.closed; attempt++) {
      const destinationIdentity = this.agent();
      if (destinationIdentity === undefined) return;
      try {
        await this.perform({ destinationIdentity, method, payload, responseTimeout: RESPONSE_TIMEOUT_MS });
        return;
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (code === UNSUPPORTED_METHOD) {
          if (method !== RPC_PLAYBACK_STARTED) this.logger.warn({ method }, "agent has no handler for room rpc");
          return;
        }
        if (attempt === ATTEMPTS) {
          this.logger.warn({ method, code, attempts: ATTEMPTS }, "room rpc to agent failed");
          return;
        }
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
  }
}
