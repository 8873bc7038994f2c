/** lipsync gpu install: ONNX Runtime's CUDA execution provider beside onnxruntime-node. */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { checkVersion, fetchFromNpm, installFromNuget, installFromTarball, NPM_PROVIDER_PACKAGE } from "../gpu/install.js";
import { locateRuntime } from "../gpu/runtime.js";
import { choiceOption, stringOption, type Command } from "./options.js";

export const gpuInstall: Command = {
  name: "gpu install",
  summary: "install ONNX Runtime's CUDA execution provider (then check with lipsync doctor)",
  options: [
    { name: "from", value: "SOURCE", default: "npm", description: `npm: ONNX Runtime's CUDA 13 build from the npm package ${NPM_PROVIDER_PACKAGE}; nuget: onnxruntime-node's own installer, CUDA 12, from NuGet` },
    { name: "tarball", value: "FILE", description: "install from an npm tarball of that package already on disk (offline machines)" },
  ],
  notes: `The provider needs the NVIDIA driver and the CUDA and cuDNN libraries of its major version
(CUDA 13 and cuDNN 9 for --from npm) on the loader's path (LD_LIBRARY_PATH). lipsync doctor says
what is found and what is missing.`,
  async run(values) {
    const runtime = locateRuntime();
    const from = choiceOption(values, "from", ["npm", "nuget"] as const) ?? "npm";
    let result;
    if (from === "nuget") {
      process.stderr.write("running onnxruntime-node's installer (CUDA 12, from NuGet)...\n");
      result = await installFromNuget(runtime);
    } else {
      checkVersion(runtime);
      const given = stringOption(values, "tarball");
      const work = mkdtempSync(path.join(os.tmpdir(), "lipsync-gpu-pack-"));
      try {
        if (!given) process.stderr.write(`fetching ${NPM_PROVIDER_PACKAGE} from the npm registry (about 180 MB)...\n`);
        const tarball = given ? path.resolve(given) : await fetchFromNpm(work);
        result = await installFromTarball(tarball, runtime.binDir);
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    }
    process.stdout.write(`installed ${result.installed.join(", ")} into ${result.binDir}\n`
      + "next: lipsync doctor   (checks the driver, CUDA and cuDNN, and runs a probe on the GPU)\n");
  },
};
