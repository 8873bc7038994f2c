/**
 * gRPC server reflection, grpc.reflection.v1 and v1alpha (the same messages under two names;
 * grpcurl and `buf curl --reflect` ask for either). Answers come from the descriptors embedded
 * in the generated code, so they always match what the server runs.
 */
import { create, createRegistry, toBinary, type DescFile, type DescService, type Registry } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ConnectRouter } from "@connectrpc/connect";
import { v1, v1alpha } from "@lipsync/proto/reflection";

/** The request and response of either version, as far as the handler cares. */
interface ReflectionRequest {
  host: string;
  messageRequest:
    | { case: "fileByFilename" | "fileContainingSymbol" | "allExtensionNumbersOfType" | "listServices"; value: string }
    | { case: "fileContainingExtension"; value: { containingType: string; extensionNumber: number } }
    | { case: undefined; value?: undefined };
}

type ResponseInit =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

export class Reflection {
  private readonly registry: Registry;
  private readonly byName = new Map<string, DescFile>();
  private readonly services: string[];

  constructor(services: DescService[]) {
    this.services = services.map((s) => s.typeName);
    const add = (f: DescFile) => {
      if (this.byName.has(f.proto.name)) return;
      this.byName.set(f.proto.name, f);
      for (const d of f.dependencies) add(d);
    };
    for (const s of services) add(s.file);
    this.registry = createRegistry(...this.byName.values());
  }

  answer(req: ReflectionRequest): ResponseInit {
    const m = req.messageRequest;
    switch (m.case) {
      case "listServices":
        return { case: "listServicesResponse", value: { service: this.services.map((name) => ({ name })) } };
      case "fileByFilename": {
        const file = this.byName.get(m.value);
        return file ? this.files(file) : notFound(`file ${m.value} not found`);
      }
      case "fileContainingSymbol": {
        const file = this.fileOfSymbol(m.value);
        return file ? this.files(file) : notFound(`symbol ${m.value} not found`);
      }
      case "fileContainingExtension":
        return notFound(`extension ${m.value.extensionNumber} of ${m.value.containingType} not found`);
      case "allExtensionNumbersOfType":
        return this.registry.getMessage(m.value)
          ? { case: "allExtensionNumbersResponse", value: { baseTypeName: m.value, extensionNumber: [] } }
          : notFound(`type ${m.value} not found`);
      default:
        return { case: "errorResponse", value: { errorCode: Code.InvalidArgument, errorMessage: "empty reflection request" } };
    }
  }

  /** The file declaring `symbol`: a service, method, message, field, enum or enum value. */
  private fileOfSymbol(symbol: string): DescFile | undefined {
    const parts = symbol.split(".");
    for (let n = parts.length; n > 0; n--) {
      const desc = this.registry.get(parts.slice(0, n).join("."));
      if (desc) return desc.file;
    }
    return undefined;
  }

  /** A file and everything it imports, serialised: clients resolve types from these alone. */
  private files(file: DescFile): ResponseInit {
    const seen = new Set<string>();
    const out: Uint8Array[] = [];
    const visit = (f: DescFile) => {
      if (seen.has(f.proto.name)) return;
      seen.add(f.proto.name);
      out.push(toBinary(FileDescriptorProtoSchema, f.proto));
      for (const d of f.dependencies) visit(d);
    };
    visit(file);
    return { case: "fileDescriptorResponse", value: { fileDescriptorProto: out } };
  }
}

function notFound(message: string): ResponseInit {
  return { case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage: message } };
}

/** Registers both reflection services for `services` (reflection lists itself too). */
export function reflectionRoutes(router: ConnectRouter, services: DescService[]): void {
  const reflection = new Reflection([...services, v1.ServerReflection, v1alpha.ServerReflection]);
  router.service(v1.ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) {
        yield create(v1.ServerReflectionResponseSchema, { validHost: req.host, originalRequest: req, messageResponse: reflection.answer(req) });
      }
    },
  });
  router.service(v1alpha.ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) {
        yield create(v1alpha.ServerReflectionResponseSchema, { validHost: req.host, originalRequest: req, messageResponse: reflection.answer(req) });
      }
    },
  });
}
