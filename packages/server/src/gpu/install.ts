/**
 * `lipsync gpu install`: puts the CUDA execution provider of ONNX Runtime beside
 * onnxruntime-node's binding. Two sources:
 * - npm (default): ONNX Runtime's own CUDA 13 build of the provider for 1.29.0, as packaged in
 *   com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 (MIT), for machines that reach only the npm
 *   registry;
 * - nuget: onnxruntime-node's own install script with its CUDA 12 flag (the official way).
 * Files are written under a temporary name and renamed, so a failed install leaves nothing half-written.
 */
import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, renameSync, rmSync, existsSync, readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { PROVIDER_FILES, ORT_VERSION, type Runtime } from "./runtime.js";

export const NPM_PROVIDER_PACKAGE = "com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9";
/** Where the provider libraries sit inside that package. */
const PACKAGE_DIR = "package/Plugins/Linux/x64";

function run(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    p.on("error", (e) => reject(new Error(`${cmd} could not run: ${e.message}`)));
    p.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args[0] ?? ""} failed: ${(err || out).trim().split("\n").slice(-3).join(" ")}`))));
  });
}

export interface InstallResult {
  installed: string[];
  binDir: string;
}

/** Copies the provider libraries out of an npm tarball of the provider package into binDir. */
export async function installFromTarball(tarball: string, binDir: string): Promise<InstallResult> {
  const work = mkdtempSync(path.join(os.tmpdir(), "lipsync-gpu-"));
  try {
    await run("tar", ["xzf", tarball, "-C", work, ...PROVIDER_FILES.map((f) => `${PACKAGE_DIR}/${f}`)]).catch((err: Error) => {
      throw new Error(`${path.basename(tarball)} does not hold ${PROVIDER_FILES.join(" and ")} under ${PACKAGE_DIR}/ (${err.message})`);
    });
    const staged: [string, string][] = [];
    for (const f of PROVIDER_FILES) {
      const tmp = path.join(binDir, `.${f}.partial`);
      copyFileSync(path.join(work, PACKAGE_DIR, f), tmp);
      staged.push([tmp, path.join(binDir, f)]);
    }
    for (const [tmp, final] of staged) renameSync(tmp, final);
    return { installed: [...PROVIDER_FILES], binDir };
  } finally {
    for (const f of PROVIDER_FILES) rmSync(path.join(binDir, `.${f}.partial`), { force: true });
    rmSync(work, { recursive: true, force: true });
  }
}

/** `npm pack` of the provider package into a temporary folder; returns the tarball. */
export async function fetchFromNpm(dir: string): Promise<string> {
  await run("npm", ["pack", "--silent", NPM_PROVIDER_PACKAGE], { cwd: dir });
  const tgz = readdirSync(dir).find((f) => f.endsWith(".tgz"));
  if (!tgz) throw new Error(`npm pack ${NPM_PROVIDER_PACKAGE} produced no tarball`);
  return path.join(dir, tgz);
}

/** onnxruntime-node's own install script, asking it for the CUDA 12 provider from NuGet. */
export async function installFromNuget(runtime: Runtime): Promise<InstallResult> {
  const require = createRequire(import.meta.url);
  const script = path.join(path.dirname(require.resolve("onnxruntime-node/package.json")), "script", "install.js");
  if (!existsSync(script)) throw new Error("onnxruntime-node's install script is missing");
  await run(process.execPath, [script, "--onnxruntime-node-install=cuda12"], { env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: "cuda12" } });
  return { installed: PROVIDER_FILES.filter((f) => existsSync(path.join(runtime.binDir, f))), binDir: runtime.binDir };
}

export function checkVersion(runtime: Runtime): void {
  if (runtime.version !== ORT_VERSION) {
    throw new Error(`the provider on npm is built for onnxruntime-node ${ORT_VERSION}; this install has ${runtime.version} (use --from nuget, or install onnxruntime-node@${ORT_VERSION})`);
  }
}
