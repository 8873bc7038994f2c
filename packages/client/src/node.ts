/**
 * The client for Node: gRPC (HTTP/2, cleartext or TLS), Connect or gRPC-Web through
 * @connectrpc/connect-node.
 */
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { LipSyncClient } from "./client.js";

export * from "./client.js";
export * from "./socket.js";

export interface NodeClientOptions {
  baseUrl: string;
  protocol?: "grpc" | "connect" | "grpc-web";
  /** Protobuf binary (default) or JSON (Connect only). */
  format?: "binary" | "json";
  /** HTTP/2 (default for gRPC) or HTTP/1.1 (Connect and gRPC-Web only). */
  httpVersion?: "1.1" | "2";
  /** Extra TLS options, e.g. a CA for a self-signed certificate. */
  nodeOptions?: { ca?: string | Buffer; rejectUnauthorized?: boolean };
}

export function createLipSyncClient(options: NodeClientOptions): LipSyncClient {
  const protocol = options.protocol ?? "grpc";
  const useBinaryFormat = options.format !== "json";
  const nodeOptions = options.nodeOptions;
  if (protocol === "grpc") {
    return new LipSyncClient(createGrpcTransport({ baseUrl: options.baseUrl, ...(nodeOptions ? { nodeOptions } : {}) }));
  }
  const httpVersion = options.httpVersion ?? "1.1";
  const common = { baseUrl: options.baseUrl, httpVersion, ...(nodeOptions ? { nodeOptions } : {}) } as const;
  return new LipSyncClient(protocol === "grpc-web"
    ? createGrpcWebTransport({ ...common, useBinaryFormat: true })
    : createConnectTransport({ ...common, useBinaryFormat }));
}
