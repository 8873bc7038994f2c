/**
 * The lipsync.v1 wire schema, generated from proto/ by `pnpm proto:generate` (buf +
 * protoc-gen-es). Never edit the files under gen/ by hand.
 */
export * from "./gen/lipsync/v1/lipsync_pb.js";
export * as health from "./gen/grpc/health/v1/health_pb.js";
