/**
 * grpc.reflection v1 and v1alpha, for servers (kept out of the main entry so browser bundles
 * never carry them).
 */
export * as v1 from "./gen/grpc/reflection/v1/reflection_pb.js";
export * as v1alpha from "./gen/grpc/reflection/v1alpha/reflection_pb.js";
