/**
 * The client for Node: gRPC (HTTP/2, cleartext or TLS), Connect or gRPC-Web through
 * @connectrpc/connect-node, an optional peer dependency: install it beside this package.
 */
import type * as ConnectNode from "@connectrpc/connect-node";
import { bearerAuth, LipSyncClient, LipSyncClientError } from "./client.js";

export * from "./client.js";
export * from "./socket.js";

/** The version of @connectrpc/connect-node this package is built and tested with. */
export const CONNECT_NODE_VERSION = "2.1.2";

let connectNode: typeof ConnectNode;
try {
  connectNode = await import("@connectrpc/connect-node");
} catch (err) {
  if ((err as NodeJS.ErrnoException).code !== "ERR_MODULE_NOT_FOUND") throw err;
  throw new LipSyncClientError(`@lipsync/client/node needs its optional peer @connectrpc/connect-node: npm install @connectrpc/connect-node@${CONNECT_NODE_VERSION}`);
}

export interface NodeClientOptions {
  baseUrl: string;
  /** gRPC (default), Connect or gRPC-Web. */
  protocol?: "grpc" | "connect" | "grpc-web";
  /** Protobuf binary (default) or JSON (Connect only). */
  format?: "binary" | "json";
  /**
   * HTTP/2 (default) or HTTP/1.1 (Connect and gRPC-Web only). The lipsync server speaks HTTP/2
   * on its one port (cleartext with prior knowledge, or TLS). speak() needs HTTP/2: over 1.1
   * it throws LipSyncClientError; speakAudio() and the unary calls work on both.
   */
  httpVersion?: "1.1" | "2";
  /** Extra TLS options, e.g. a CA for a self-signed certificate. */
  nodeOptions?: { ca?: string | Buffer; rejectUnauthorized?: boolean };
  /** Bearer token, for a server that requires one (sent as `authorization: Bearer TOKEN`). */
  token?: string;
}

export function createLipSyncClient(options: NodeClientOptions): LipSyncClient {
  const protocol = options.protocol ?? "grpc";
  const useBinaryFormat = options.format !== "json";
  const nodeOptions = options.nodeOptions;
  const interceptors = options.token ? [bearerAuth(options.token)] : [];
  if (protocol === "grpc") {
    if (options.httpVersion === "1.1") throw new LipSyncClientError('gRPC needs HTTP/2: drop httpVersion "1.1", or use protocol "connect" or "grpc-web"');
    return new LipSyncClient(connectNode.createGrpcTransport({ baseUrl: options.baseUrl, interceptors, ...(nodeOptions ? { nodeOptions } : {}) }));
  }
  const httpVersion = options.httpVersion ?? "2";
  const common = { baseUrl: options.baseUrl, httpVersion, interceptors, ...(nodeOptions ? { nodeOptions } : {}) } as const;
  return new LipSyncClient(protocol === "grpc-web"
    ? connectNode.createGrpcWebTransport({ ...common, useBinaryFormat: true })
    : connectNode.createConnectTransport({ ...common, useBinaryFormat }), { bidi: httpVersion === "2" });
}
