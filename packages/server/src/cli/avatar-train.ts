/**
 * lipsync avatar train: fine-tunes the demo model family on one built avatar, with the training
 * code of the repository's training/ (Debian's PyTorch). The Python side prints "@progress" and
 * "@result" lines; this command draws them and tells the outcome.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { stderrProgress } from "../avatar/build/progress.js";
import { checkAvatarName } from "../avatar/registry.js";
import { LipSyncError } from "../errors.js";
import { REPO_ROOT } from "../static-mounts.js";
import { choiceOption, intOption, stringOption, UsageError, type Command } from "./options.js";
import { avatarRoots } from "./server-options.js";

interface TrainResult {
  steps: number;
  loss_first: number;
  loss_last: number;
  held_out: Record<string, { r: number; best_lag: number; frames: number }>;
  gate: { r_min: number; passed: boolean };
  seconds: { data: number; train: number; total: number };
  device: string;
  threads: number;
  installed: boolean;
}

export const avatarTrain: Command = {
  name: "avatar train",
  summary: "fine-tune a model for an avatar made by lipsync avatar build",
  args: "NAME",
  options: [
    { name: "avatars", value: "DIR", multiple: true, default: "$LIPSYNC_AVATARS or the repository's models/", description: "the avatar root holding NAME" },
    { name: "steps", value: "N", default: "800", description: "training steps (a rerun continues from the last checkpoint)" },
    { name: "utterances", value: "N", default: "240", description: "synthetic sentences rendered on the face" },
    { name: "device", value: "DEV", default: "cpu", description: "cpu or cuda (PyTorch's)" },
    { name: "gate-utterances", value: "N", default: "all 8", description: "held-out sentences per set the quality gate renders (fewer: faster, coarser)" },
    { name: "python", value: "FILE", default: "$LIPSYNC_PYTHON or /usr/bin/python3", description: "a Python with PyTorch, numpy, onnx and Pillow (Debian's)" },
    { name: "verbose", description: "also show the training script's own output" },
  ],
  notes: `Training pairs: synthetic speech (espeak-ng, flite) with the mouth renderer drawn on the
avatar's own frames; for a video also its own frames and speech. Checkpoints and the dataset are
kept in ROOT/.NAME.train/, so an interrupted run continues. At the end the model must pass the
quality gate (held-out synthetic speech, mouth opening r >= 0.7 at lag 0) to replace the
avatar's model. About 10-20 minutes on 2 otherwise idle CPU cores.`,
  async run(values, positionals) {
    const [name, extra] = positionals;
    if (!name || extra) throw new UsageError("avatar train takes one avatar NAME");
    checkAvatarName(name);
    const dir = avatarRoots(values).map((r) => path.join(r, name)).find((d) => existsSync(path.join(d, "manifest.json")));
    if (!dir) throw new LipSyncError("not_found", `avatar "${name}" not found in ${avatarRoots(values).join(", ")}: pass --avatars ROOT as given to avatar build --out`);
    if (!existsSync(path.join(dir, "footage", "footage.json"))) {
      throw new LipSyncError("failed_precondition", `avatar "${name}" has no footage/ folder: only avatars made by lipsync avatar build can be trained`);
    }
    if (!existsSync(path.join(REPO_ROOT, "training", "finetune.py"))) throw new LipSyncError("failed_precondition", "avatar train needs the repository's training/ folder (run it from a clone of lipsync)");
    const python = stringOption(values, "python") ?? process.env.LIPSYNC_PYTHON ?? "/usr/bin/python3";
    const steps = intOption(values, "steps", 1, 1_000_000) ?? 800;
    const utterances = intOption(values, "utterances", 4, 100_000) ?? 240;
    const device = choiceOption(values, "device", ["cpu", "cuda"] as const) ?? "cpu";
    const gateUtterances = intOption(values, "gate-utterances", 1, 8) ?? 0;
    const result = await runTraining(python, ["-m", "training.finetune", path.resolve(dir), "--steps", String(steps), "--utterances", String(utterances), "--device", device, "--gate-limit", String(gateUtterances)], Boolean(values.verbose));
    const gate = result.held_out.gate!;
    const family = result.held_out.family!;
    const lines = [
      "",
      `avatar "${name}": ${result.steps} steps on ${result.device} (${result.threads} threads) in ${Math.round(result.seconds.total / 60)} min (data ${result.seconds.data} s, training ${result.seconds.train} s)`,
      `  loss ${result.loss_first.toFixed(4)} -> ${result.loss_last.toFixed(4)}`,
      `  quality gate: r = ${gate.r.toFixed(3)} at lag ${gate.best_lag} on the held-out voice (needs ${result.gate.r_min}); unseen synthesiser r = ${family.r.toFixed(3)}`,
    ];
    if (!result.gate.passed) {
      process.stdout.write(lines.join("\n") + "\n");
      throw new LipSyncError("failed_precondition", `the trained model did not pass the quality gate, so "${name}" keeps its current model: run again with more --steps (it continues from the checkpoint)`);
    }
    lines.push(`  installed: ${dir} now serves with its own model (lipsync serve --avatars ${path.dirname(dir)})`, "");
    process.stdout.write(lines.join("\n"));
  },
};

/** Runs `python args` in the repository root, where `-m training.finetune` finds the training package. */
function runTraining(python: string, args: string[], verbose: boolean): Promise<TrainResult> {
  const progress = stderrProgress();
  return new Promise((resolve, reject) => {
    const p = spawn(python, args, { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PYTHONUNBUFFERED: "1" } });
    let result: TrainResult | undefined;
    let stage = "";
    let err = "";
    let buffer = "";
    p.stdout.setEncoding("utf8");
    p.stdout.on("data", (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.startsWith("@progress ")) {
          const e = JSON.parse(line.slice(10)) as { stage: string; done: number; total: number; loss?: number };
          if (e.stage !== stage) progress.stage((stage = e.stage), e.total);
          progress.update(e.done, e.loss !== undefined ? `loss ${e.loss.toFixed(4)}` : "");
        } else if (line.startsWith("@result ")) {
          result = JSON.parse(line.slice(8)) as TrainResult;
        } else if (verbose) {
          progress.note(line);
        }
      }
    });
    p.stderr.setEncoding("utf8");
    p.stderr.on("data", (d: string) => {
      err += d;
      if (verbose) progress.note(d.trimEnd());
    });
    p.on("error", () => reject(new LipSyncError("failed_precondition", `${python} not found: avatar train needs Python 3 with PyTorch (apt-get install python3-torch python3-onnx python3-pil)`)));
    p.on("close", (code) => {
      progress.done(Boolean(result));
      if (result) resolve(result);
      else reject(new LipSyncError("internal", `training stopped (exit ${code}): ${err.trim().split("\n").slice(-3).join(" | ") || "no output"}`));
    });
  });
}
