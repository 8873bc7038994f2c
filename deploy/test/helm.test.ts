/**
 * The Helm chart (deploy/helm/lipsync): `helm lint --strict` and `helm template` with the pinned
 * helm (scripts/setup.sh --system builds it), and the rendered manifests read back: probes,
 * ports and their appProtocol, the drain and the grace period around it, resources and GPUs,
 * the PodDisruptionBudget, the autoscaler, the ServiceMonitor, tokens from a Secret, avatars from
 * a PVC or an init container, Ingress and Gateway API routes for gRPC and the WebSocket.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments, stringify } from "yaml";
import { execForm, only, readDockerfile } from "./dockerfile.js";
import { CLI, helmBinary, REPO_ROOT, run } from "./procs.js";

const CHART = path.join(REPO_ROOT, "deploy", "helm", "lipsync");
/** helm built with `go install` defaults to Kubernetes 1.20 for kubeVersion checks: say which. */
const KUBE = "1.31.0";

// Manifests are plain objects; the tests reach into them by path.
type Manifest = Record<string, any>;

function valuesFile(values: Record<string, unknown>): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), "lipsync-helm-")), "values.yaml");
  writeFileSync(file, stringify(values));
  return file;
}

async function helm(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run(helmBinary(), args, { timeoutMs: 60_000, env: { ...process.env, HELM_CACHE_HOME: os.tmpdir(), HELM_CONFIG_HOME: os.tmpdir(), HELM_DATA_HOME: os.tmpdir() } });
}

/** The manifests `helm template` renders with `values`. */
async function render(values: Record<string, unknown> = {}): Promise<Manifest[]> {
  const r = await helm(["template", "demo", CHART, "--namespace", "avatars", "--kube-version", KUBE, "-f", valuesFile(values)]);
  expect(r.code, r.stderr).toBe(0);
  return parseAllDocuments(r.stdout).map((d) => d.toJSON() as Manifest).filter(Boolean);
}

/** helm template's failure message with `values`. */
async function refusal(values: Record<string, unknown>): Promise<string> {
  const r = await helm(["template", "demo", CHART, "--kube-version", KUBE, "-f", valuesFile(values)]);
  expect(r.code).not.toBe(0);
  return r.stderr;
}

const kinds = (m: Manifest[], kind: string) => m.filter((x) => x.kind === kind);
const one = (m: Manifest[], kind: string) => {
  const found = kinds(m, kind);
  expect(found, kind).toHaveLength(1);
  return found[0]!;
};
const container = (m: Manifest[]) => one(m, "Deployment").spec.template.spec.containers[0] as Manifest;
const argAfter = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

const FULL = {
  gpu: { enabled: true },
  auth: { enabled: true, tokens: ["t0k3n-one", "t0k3n-two"], adminTokenKey: "admin" },
  avatars: { source: "pvc", pvc: { create: true } },
  ingress: { enabled: true },
  gateway: { enabled: true, parentRefs: [{ name: "public", namespace: "gateways" }] },
  autoscaling: { enabled: true },
  server: { capacity: 6 },
  serviceMonitor: { enabled: true },
};

describe("deploy/helm/lipsync", () => {
  it("passes helm lint --strict, alone and with every option on", async () => {
    for (const values of [{}, FULL, { avatars: { source: "initContainer", initContainer: { image: "registry.example/avatars:1" } } }]) {
      const r = await helm(["lint", "--strict", CHART, "--kube-version", KUBE, "-f", valuesFile(values)]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  it("probes readiness on /readyz and liveness on /healthz, and drains inside the grace period", async () => {
    const m = await render();
    const c = container(m);
    const pod = one(m, "Deployment").spec.template.spec;
    expect(c.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "http" });
    expect(c.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
    expect(c.startupProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
    // A full pod leaves the endpoints at the next probe, and comes back as soon as a session ends.
    expect(c.readinessProbe.periodSeconds * c.readinessProbe.failureThreshold).toBeLessThanOrEqual(4);
    const drain = Number(argAfter(c.args, "--drain-seconds"));
    const pause = Number(c.lifecycle.preStop.exec.command[1]);
    expect(c.lifecycle.preStop.exec.command[0]).toBe("sleep");
    expect(drain).toBe(20);
    expect(pause).toBeGreaterThan(0);
    // SIGKILL only after the pause, the drain and the second the server needs to close.
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(pause + drain + 1);
    // The liveness window outlasts the drain (the server stops accepting connections then).
    expect(c.livenessProbe.periodSeconds * c.livenessProbe.failureThreshold).toBeGreaterThan(pause + drain);
    expect(c.args.slice(0, 3)).toEqual(["serve", "--host", "0.0.0.0"]);
  });

  it("runs the image's user with a read-only root and flags lipsync serve has", async () => {
    const m = await render(FULL);
    const c = container(m);
    const pod = one(m, "Deployment").spec.template.spec;
    const user = only(readDockerfile(path.join(REPO_ROOT, "deploy", "docker", "Dockerfile")).at(-1)!, "USER").args;
    expect(`${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}`).toBe(user);
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
    expect(c.volumeMounts).toContainEqual({ name: "tmp", mountPath: "/tmp" });
    const help = await run(process.execPath, [...CLI, "serve", "--help"]);
    const flags = new Set([...help.stdout.matchAll(/--([a-z][a-z0-9-]*)/g)].map((x) => x[1]));
    for (const arg of c.args as string[]) if (arg.startsWith("--")) expect(flags.has(arg.slice(2)), arg).toBe(true);
    // The image's entrypoint is the CLI, so the chart's args are its command line.
    expect(execForm(only(readDockerfile(path.join(REPO_ROOT, "deploy", "docker", "Dockerfile.cuda")).at(-1)!, "ENTRYPOINT").args)).toEqual(["node", "/app/packages/server/dist/cli.js"]);
  });

  it("offers the one port as HTTP/1.1 and as h2c, and routes the web and gRPC to each", async () => {
    const m = await render(FULL);
    const c = container(m);
    expect(c.ports).toEqual([{ name: "http", containerPort: 8080, protocol: "TCP" }]);
    expect(argAfter(c.args, "--port")).toBe("8080");
    const svc = one(m, "Service");
    expect(svc.spec.ports).toEqual([
      { name: "http", port: 8080, targetPort: "http", protocol: "TCP", appProtocol: "http" },
      { name: "h2c", port: 8081, targetPort: "http", protocol: "TCP", appProtocol: "kubernetes.io/h2c" },
    ]);
    const pod = one(m, "Deployment").spec.template.metadata.labels;
    expect(svc.spec.selector).toEqual(Object.fromEntries(Object.entries(pod).filter(([k]) => k in svc.spec.selector)));
    expect(Object.keys(svc.spec.selector).length).toBeGreaterThan(0);

    // Ingress: the web host to the HTTP/1.1 port (WebSocket upgrades), gRPC's own host to h2c.
    const [web, grpc] = kinds(m, "Ingress");
    expect(web!.spec.rules[0].http.paths[0].backend.service.port.name).toBe("http");
    expect(web!.metadata.annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]).toBe("3600");
    expect(grpc!.spec.rules[0].http.paths[0].backend.service.port.name).toBe("h2c");
    expect(grpc!.metadata.annotations["nginx.ingress.kubernetes.io/backend-protocol"]).toBe("GRPC");
    expect(grpc!.spec.rules[0].host).not.toBe(web!.spec.rules[0].host);
    // Gateway API: an HTTPRoute to the HTTP/1.1 port, a GRPCRoute for the API to the h2c port.
    const http = one(m, "HTTPRoute");
    const route = one(m, "GRPCRoute");
    expect(http.spec.rules[0].backendRefs).toEqual([{ name: svc.metadata.name, port: 8080 }]);
    expect(route.spec.rules[0].backendRefs).toEqual([{ name: svc.metadata.name, port: 8081 }]);
    expect(route.spec.rules[0].matches.map((x: Manifest) => x.method.service)).toEqual(expect.arrayContaining(["lipsync.v1.LipSyncService", "grpc.health.v1.Health"]));
    expect(http.spec.parentRefs).toEqual([{ name: "public", namespace: "gateways" }]);
    expect(route.spec.hostnames).not.toEqual(http.spec.hostnames);
  });

  it("asks for one GPU per pod and runs on it when gpu.enabled, and none otherwise", async () => {
    const cpu = container(await render());
    expect(JSON.stringify(cpu.resources)).not.toMatch(/nvidia/);
    expect(cpu.args).not.toContain("--device");
    expect(cpu.image).toBe("lipsync:0.1.0");
    expect(cpu.resources.requests).toEqual({ cpu: "2", memory: "1Gi" });
    expect(cpu.resources.limits).toEqual({ memory: "2Gi" });

    const m = await render({ gpu: { enabled: true } });
    const gpu = container(m);
    expect(gpu.resources.limits["nvidia.com/gpu"]).toBe(1);
    expect(gpu.resources.requests["nvidia.com/gpu"]).toBe(1);
    expect(argAfter(gpu.args, "--device")).toBe("cuda");
    expect(argAfter(gpu.args, "--max-batch")).toBe("32");
    expect(gpu.image).toBe("lipsync:0.1.0-cuda");
    expect(one(m, "Deployment").spec.template.spec.tolerations).toContainEqual({ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" });
  });

  it("keeps one pod at a time out on purpose, and scales on the capacity in use", async () => {
    const m = await render(FULL);
    const pdb = one(m, "PodDisruptionBudget");
    const dep = one(m, "Deployment");
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(pdb.spec.selector.matchLabels).toEqual(dep.spec.selector.matchLabels);
    expect(dep.spec.strategy.rollingUpdate).toEqual({ maxSurge: 1, maxUnavailable: 0 });

    const hpa = one(m, "HorizontalPodAutoscaler");
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: dep.metadata.name });
    expect(hpa.spec.metrics).toEqual([{ type: "Pods", pods: { metric: { name: "lipsync_capacity_used" }, target: { type: "AverageValue", averageValue: "700m" } } }]);
    expect(hpa.spec.minReplicas).toBe(2);
    // The HPA owns the replica count; each pod exports the share of its own capacity in use.
    expect(dep.spec.replicas).toBeUndefined();
    expect(argAfter(container(m).args, "--capacity")).toBe("6");
    // A measured capacity (no server.capacity) autoscales too: the pods export their own share.
    expect((await render({ autoscaling: { enabled: true }, server: { capacity: null } })).some((m) => m.kind === "HorizontalPodAutoscaler")).toBe(true);
    const defaults = await render();
    expect(kinds(defaults, "HorizontalPodAutoscaler")).toEqual([]);
    expect(one(defaults, "Deployment").spec.replicas).toBe(2);
  });

  it("reads tokens from a Secret, file-mounted, and gives Prometheus one", async () => {
    const m = await render(FULL);
    const c = container(m);
    const secret = one(m, "Secret");
    const pod = one(m, "Deployment").spec.template.spec;
    expect(secret.stringData.tokens.trim().split("\n")).toEqual(["t0k3n-one", "t0k3n-two"]);
    const file = argAfter(c.args, "--auth-token-file");
    const mount = c.volumeMounts.find((v: Manifest) => v.name === "auth");
    expect(mount.readOnly).toBe(true);
    expect(file).toBe(`${mount.mountPath}/tokens`);
    expect(pod.volumes.find((v: Manifest) => v.name === "auth").secret.secretName).toBe(secret.metadata.name);
    // No token on the command line but the admin one, which comes from the Secret by reference.
    expect(JSON.stringify(c.args)).not.toMatch(/t0k3n/);
    expect(argAfter(c.args, "--admin-token")).toBe("$(LIPSYNC_ADMIN_TOKEN)");
    expect(c.env).toContainEqual({ name: "LIPSYNC_ADMIN_TOKEN", valueFrom: { secretKeyRef: { name: secret.metadata.name, key: "admin" } } });
    const sm = one(m, "ServiceMonitor");
    expect(sm.spec.endpoints[0]).toMatchObject({ port: "http", path: "/metrics", authorization: { type: "Bearer", credentials: { name: secret.metadata.name, key: "metrics-token" } } });
    expect(secret.stringData["metrics-token"]).toBe("t0k3n-one");
    expect(sm.spec.selector.matchLabels).toEqual(one(m, "Service").spec.selector);

    const own = await render({ auth: { enabled: true, existingSecret: "my-tokens" } });
    expect(kinds(own, "Secret")).toEqual([]);
    expect(one(own, "Deployment").spec.template.spec.volumes.find((v: Manifest) => v.name === "auth").secret.secretName).toBe("my-tokens");
    expect(await refusal({ auth: { enabled: true } })).toMatch(/auth.existingSecret or auth.tokens/);
  });

  it("mounts avatars read-only from a PVC or from an init container's copy", async () => {
    const m = await render(FULL);
    const c = container(m);
    const pod = one(m, "Deployment").spec.template.spec;
    expect(c.volumeMounts).toContainEqual({ name: "avatars", mountPath: "/avatars", readOnly: true });
    const pvc = one(m, "PersistentVolumeClaim");
    expect(pod.volumes.find((v: Manifest) => v.name === "avatars").persistentVolumeClaim).toEqual({ claimName: pvc.metadata.name, readOnly: true });
    expect(pvc.spec.accessModes).toEqual(["ReadOnlyMany"]);
    const roots = (c.args as string[]).flatMap((a, i, all) => (a === "--avatars" ? [all[i + 1]] : []));
    expect(roots).toEqual(["/app/models", "/avatars"]);

    const i = await render({ avatars: { source: "initContainer", includeDemo: false, initContainer: { image: "registry.example/avatars:1" } } });
    const ipod = one(i, "Deployment").spec.template.spec;
    expect(ipod.initContainers[0]).toMatchObject({ image: "registry.example/avatars:1", volumeMounts: [{ name: "avatars", mountPath: "/avatars" }] });
    expect(ipod.volumes.find((v: Manifest) => v.name === "avatars").emptyDir).toEqual({ sizeLimit: "2Gi" });
    expect(container(i).volumeMounts).toContainEqual({ name: "avatars", mountPath: "/avatars", readOnly: true });
    expect((container(i).args as string[]).filter((a) => a === "--avatars")).toHaveLength(1);

    expect(await refusal({ avatars: { source: "none", includeDemo: false } })).toMatch(/no avatar to serve/);
    expect(await refusal({ avatars: { source: "initContainer" } })).toMatch(/needs avatars.initContainer.image/);
  });

  it("refuses a grace period the drain does not fit in", async () => {
    expect(await refusal({ terminationGracePeriodSeconds: 20 })).toMatch(/must exceed preStopSleepSeconds \+ server.drainSeconds/);
    const m = await render({ terminationGracePeriodSeconds: 60, server: { drainSeconds: 40 } });
    expect(one(m, "Deployment").spec.template.spec.terminationGracePeriodSeconds).toBe(60);
    expect(argAfter(container(m).args, "--drain-seconds")).toBe("40");
  });
});

