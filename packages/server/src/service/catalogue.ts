/**
 * The avatar catalogue as clients see it: lipsync.v1 AvatarInfo of every package in the roots,
 * and avatars handed out only to principals allowed to use them. This is the one place avatar
 * authorisation happens: every RPC, WebSocket request and session gets its avatar through
 * `get` (or `describe`), and `list` shows a principal only its own.
 */
import { create } from "@bufbuild/protobuf";
import { AvatarInfoSchema, type AvatarInfo, type Box } from "@lipsync/proto";
import { checkAvatarAllowed, type Principal } from "../auth.js";
import type { Avatar } from "../avatar/avatar.js";
import type { AvatarRegistry } from "../avatar/registry.js";
import { box } from "../engine/frame.js";
import type { Admission } from "./admission.js";

export class Catalogue {
  constructor(readonly registry: AvatarRegistry, private readonly admission: Admission) {}

  /** A loaded avatar as AvatarInfo: its model, as loaded, and the capacity measured for it. */
  info(avatar: Avatar): AvatarInfo {
    const m = avatar.manifest;
    return create(AvatarInfoSchema, {
      name: avatar.name, loaded: true, frameCount: m.frameCount, fps: m.fps, width: m.width, height: m.height, description: m.description, license: m.license,
      model: {
        inputSize: m.model.image.size, lookaheadFrames: m.model.lookaheadFrames, gmacPerFrame: m.model.gmacPerFrame, executionProvider: avatar.model.provider,
        batchBuckets: avatar.model.unetBuckets ?? [], providerOptions: avatar.model.runtimeOptions,
      },
      capacity: this.admission.capacity(avatar),
    });
  }

  /** Every package in the roots the principal may use, loaded or not, sorted by name. */
  async list(principal: Principal | undefined): Promise<AvatarInfo[]> {
    const allowed = principal?.avatars;
    return (await this.registry.list()).filter(({ name }) => !allowed || allowed.includes(name)).map(({ name, loaded, manifest, error }) =>
      loaded ? this.info(loaded) : create(AvatarInfoSchema, {
        name, loaded: false, frameCount: manifest?.frameCount ?? 0, fps: manifest?.fps ?? 0, width: manifest?.width ?? 0, height: manifest?.height ?? 0,
        description: manifest?.description ?? "", license: manifest?.license ?? "", error: error ?? "",
      }));
  }

  /** A loaded avatar the principal may use (loading it first if needed), or PERMISSION_DENIED / NOT_FOUND. */
  async get(principal: Principal | undefined, name: string): Promise<Avatar> {
    checkAvatarAllowed(principal, name);
    return this.registry.get(name);
  }

  /** GetAvatar: the avatar, its crop boxes, and the paste region in model-input pixels. */
  async describe(principal: Principal | undefined, name: string): Promise<{ avatar: AvatarInfo; cropBoxes: Box[]; mouthBox: Box }> {
    const avatar = await this.get(principal, name);
    const [x0, y0, x1, y1] = avatar.manifest.model.image.paste;
    return { avatar: this.info(avatar), cropBoxes: avatar.manifest.cropBoxes.map(box), mouthBox: box([x0, y0, x1 - x0, y1 - y0]) };
  }

  /** LoadAvatar (admin): the avatar loaded, and how long it took (0 if it already was). */
  async load(name: string): Promise<{ avatar: AvatarInfo; loadMs: number }> {
    const already = this.registry.peek(name);
    const t = performance.now();
    const avatar = already ?? (await this.registry.load(name));
    return { avatar: this.info(avatar), loadMs: already ? 0 : performance.now() - t };
  }
}
