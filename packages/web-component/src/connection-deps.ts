/**
 * What the player's connection uses of the outside world, behind one interface: the SDK's RPC
 * client and WebSocket session, image decoding, timers and the page's origin. The element passes
 * the browser's; unit tests pass fakes (connection.test.ts).
 */
import { createLipSyncClient, LipSyncSocket } from "@lipsync/client";

/** What the connection uses of the outside world: the SDK, image decoding, timers (tests pass fakes). */
export interface ConnectionDeps {
  createClient(options: { baseUrl: string; token?: string }): Pick<ReturnType<typeof createLipSyncClient>, "getAvatar" | "sourceFrame">;
  connectSocket(options: { url: string; token?: string }): Promise<Pick<LipSyncSocket, "onEvent" | "onClose" | "start" | "pushAudio" | "end" | "clear" | "close" | "closed">>;
  decodeImage(bytes: Uint8Array, type: string): Promise<ImageBitmap>;
  setTimeout(fn: () => void, ms: number): number;
  clearTimeout(id: number | undefined): void;
  /** The page's origin, where the server is when the element names none. */
  origin(): string;
}

export const BROWSER: ConnectionDeps = {
  createClient: (o) => createLipSyncClient(o),
  connectSocket: (o) => LipSyncSocket.connect(o),
  decodeImage: (bytes, type) => createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>], { type })),
  setTimeout: (fn, ms) => window.setTimeout(fn, ms),
  clearTimeout: (id) => window.clearTimeout(id),
  origin: () => location.origin,
};

