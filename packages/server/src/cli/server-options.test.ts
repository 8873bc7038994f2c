import { afterEach, describe, expect, it } from "vitest";
import { UsageError } from "./options.js";
import { deviceOption, serverOptions } from "./server-options.js";

const saved = process.env.LIPSYNC_DEVICE;
afterEach(() => {
  if (saved === undefined) delete process.env.LIPSYNC_DEVICE;
  else process.env.LIPSYNC_DEVICE = saved;
});

describe("--device", () => {
  it("takes cpu, cuda and cuda:N, from the flag before $LIPSYNC_DEVICE", () => {
    delete process.env.LIPSYNC_DEVICE;
    expect(deviceOption({})).toBeUndefined();
    expect(deviceOption({ device: "cuda:1" })).toBe("cuda:1");
    expect(serverOptions({ device: "cuda:3" }).device).toBe("cuda:3");
    process.env.LIPSYNC_DEVICE = "cuda:2";
    expect(deviceOption({})).toBe("cuda:2");
    expect(deviceOption({ device: "cpu" })).toBe("cpu");
  });

  it("refuses a value that names no device, saying where it came from", () => {
    delete process.env.LIPSYNC_DEVICE;
    expect(() => deviceOption({ device: "gpu1" })).toThrow(UsageError);
    expect(() => deviceOption({ device: "cuda:one" })).toThrow(/--device must be cpu, cuda or cuda:N .*got "cuda:one"/);
    process.env.LIPSYNC_DEVICE = "cuda1";
    expect(() => deviceOption({})).toThrow(/LIPSYNC_DEVICE must be cpu, cuda or cuda:N/);
  });
});
