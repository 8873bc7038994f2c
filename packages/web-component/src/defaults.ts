/**
 * The player's tunables, with units, in one place (the server's are in its config.ts DEFAULTS).
 * An element or a test may override them (`PlayerConnection`'s options); these are what ships.
 */
export interface PlayerTunables {
  /** Audio goes to the server in chunks of this length, seconds. */
  chunkSeconds: number;
  /** Retries after a failure wait this long at first, doubling up to `reconnectMaxMs`, ms. */
  reconnectFirstMs: number;
  reconnectMaxMs: number;
  /** Source frames fetched at once while loading the avatar. */
  sourceFramesAtOnce: number;
  /** Frames of lookahead assumed of an avatar whose metadata does not say. */
  lookaheadFrames: number;
  /** A chunk scheduled this much later than the last one ended means the stream ran dry, seconds. */
  lateChunkSeconds: number;
}

export const PLAYER_DEFAULTS: PlayerTunables = {
  chunkSeconds: 0.1,
  reconnectFirstMs: 500,
  reconnectMaxMs: 8000,
  sourceFramesAtOnce: 16,
  lookaheadFrames: 2,
  lateChunkSeconds: 0.002,
};

/** What the player assumes of an avatar whose metadata does not say (and the canvas before any avatar), pixels. */
export const DEFAULT_FRAME_SIZE = 512;
