import { afterAll, beforeAll, expect, it } from "vitest";
import { loadDemo } from "../../test/harness.js";
import type { Avatar } from "../avatar/avatar.js";
import type { AvatarRegistry } from "../avatar/registry.js";
import { warmUp } from "./warm-up.js";

let registry: AvatarRegistry;
let avatar: Avatar;

beforeAll(async () => {
  ({ registry, avatar } = await loadDemo());
});

afterAll(() => registry.closeAll());

it("renders every speech frame of its utterance through the avatar's whole path", async () => {
  const { frames, ms } = await warmUp(avatar);
  // 0.6 s at the avatar's 25 fps; the last partial frame may be left out.
  expect(frames).toBeGreaterThanOrEqual(14);
  expect(frames).toBeLessThanOrEqual(16);
  expect(ms).toBeGreaterThan(0);
});
