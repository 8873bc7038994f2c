/** lipsync avatar build: a photo or a video of a face to an avatar package. */
import path from "node:path";
import { buildAvatar } from "../avatar/build/index.js";
import { stderrProgress } from "../avatar/build/progress.js";
import { REPO_ROOT } from "../static-mounts.js";
import { intOption, stringOption, UsageError, type Command } from "./options.js";

export const avatarBuild: Command = {
  name: "avatar build",
  summary: "make an avatar package from a photo or a video of a face",
  options: [
    { name: "photo", value: "FILE", description: "one photo of the face, looking into the camera (JPEG, PNG, WebP, ...)" },
    { name: "video", value: "FILE", description: "a video of the person, one continuous shot, ideally with a few quiet seconds and some speech" },
    { name: "name", short: "n", value: "NAME", description: "the avatar's name (letters, digits, '.', '_', '-'; required)" },
    { name: "out", short: "o", value: "ROOT", description: "the avatar root the package goes into (required); serve it with lipsync serve --avatars ROOT" },
    { name: "license", value: "TEXT", description: "terms under which the footage may be used, stored in the manifest (required), e.g. \"own photo, all rights reserved\"" },
    { name: "description", value: "TEXT", description: "one line describing the avatar" },
    { name: "base", value: "DIR", default: "the repository's models/demo", description: "package whose model the avatar serves with until lipsync avatar train" },
    { name: "idle-seconds", value: "S", default: "10", description: "longest idle loop taken from a video, seconds" },
    { name: "quality", value: "Q", default: "90", description: "JPEG quality of the frames, 50..100" },
    { name: "force", description: "replace an existing avatar of the same name" },
  ],
  notes: `The face is found and its 68 landmarks measured offline (face-api's bundled weights).
A photo gets a synthesised idle loop (head sway, blinks); a video gives its own frames: a stretch
without speech becomes the idle loop, and its sound is kept. The package serves at once with the
base model; lipsync avatar train NAME --avatars ROOT then fine-tunes a model for this face.`,
  async run(values) {
    const photo = stringOption(values, "photo");
    const video = stringOption(values, "video");
    const name = stringOption(values, "name");
    const out = stringOption(values, "out");
    const license = stringOption(values, "license");
    if (!photo === !video) throw new UsageError("give exactly one of --photo FILE or --video FILE");
    if (!name || !out || license === undefined) throw new UsageError("avatar build needs --name, --out and --license");
    const progress = stderrProgress();
    const summary = await buildAvatar({
      ...(photo ? { photo } : { video: video! }),
      name,
      root: path.resolve(out),
      license,
      ...(stringOption(values, "description") ? { description: stringOption(values, "description")! } : {}),
      base: path.resolve(stringOption(values, "base") ?? path.join(REPO_ROOT, "models", "demo")),
      force: Boolean(values.force),
      jpegQuality: intOption(values, "quality", 50, 100) ?? 90,
      maxIdleFrames: 25 * (intOption(values, "idle-seconds", 2, 120) ?? 10),
      progress,
    });
    const lines = [
      "",
      `avatar "${summary.name}" built in ${summary.seconds.toFixed(1)} s -> ${summary.dir}`,
      ...Object.entries(summary.facts).map(([k, v]) => `  ${k}: ${v}`),
      `  frames: ${summary.frames} of ${summary.width}x${summary.height} (idle loop, played ping-pong)${summary.audio ? "; own audio track kept" : ""}`,
      "  model: the demo model, with the face placed where it expects a mouth. Until trained,",
      "         expect a soft, blurred mouth region that opens and closes in time with speech,",
      "         not this person's own lips and teeth. Train a model for this face:",
      `         lipsync avatar train ${summary.name} --avatars ${path.dirname(summary.dir)}   (10-20 min on 2 idle CPU cores)`,
      ...summary.warnings.map((w) => `  note: ${w}`),
      `  serve it: lipsync serve --avatars ${path.dirname(summary.dir)}`,
      "",
    ];
    process.stdout.write(lines.join("\n"));
  },
};
