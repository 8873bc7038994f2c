/**
 * @lipsync/client for browsers (and Node over Connect/gRPC-Web). Node's gRPC transport lives
 * in "@lipsync/client/node".
 */
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { bearerAuth, LipSyncClient } from "./client.js";

export * from "./client.js";
export * from "./socket.js";
export * as proto from "@lipsync/proto";

export interface BrowserClientOptions {
  /** The server's base URL, e.g. http://localhost:8080. */
  baseUrl: string;
  /** Connect (default) or gRPC-Web. */
  protocol?: "connect" | "grpc-web";
  /** Protobuf binary (default) or JSON (Connect only). */
  format?: "binary" | "json";
  /** Bearer token, for a server that requires one (sent as `authorization: Bearer TOKEN`). */
  token?: string;
}

export function createLipSyncClient(options: BrowserClientOptions): LipSyncClient {
  const useBinaryFormat = options.format !== "json";
  const interceptors = options.token ? [bearerAuth(options.token)] : [];
  const transport = options.protocol === "grpc-web"
    ? createGrpcWebTransport({ baseUrl: options.baseUrl, useBinaryFormat: true, interceptors })
    : createConnectTransport({ baseUrl: options.baseUrl, useBinaryFormat, interceptors });
  // fetch cannot stream a request body while reading the response: no speak() in browsers.
  return new LipSyncClient(transport, { bidi: false });
}

/** The /ws URL of a server base URL (http -> ws, https -> wss). */
export function socketUrl(baseUrl: string): string {
  const u = new URL("/ws", baseUrl);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  return u.toString();
}
