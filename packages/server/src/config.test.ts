import { describe, expect, it } from "vitest";
import { deviceName, parseDevice, resolveConfig } from "./config.js";

describe("--device values", () => {
  it("reads cpu, cuda and cuda:N as a provider and a CUDA device ordinal", () => {
    expect(parseDevice("cpu")).toEqual({ provider: "cpu", deviceId: 0 });
    expect(parseDevice("cuda")).toEqual({ provider: "cuda", deviceId: 0 });
    expect(parseDevice("cuda:0")).toEqual({ provider: "cuda", deviceId: 0 });
    expect(parseDevice("cuda:3")).toEqual({ provider: "cuda", deviceId: 3 });
    expect(parseDevice("cuda:12")).toEqual({ provider: "cuda", deviceId: 12 });
  });

  it("rejects anything else", () => {
    for (const bad of ["gpu", "CUDA", "cuda:", "cuda:-1", "cuda:1.5", "cuda:x", "cuda:1:2", " cuda", "cuda:1234", "cpu:0"]) {
      expect(parseDevice(bad), bad).toBeUndefined();
    }
    expect(() => resolveConfig({ device: "gpu" as never })).toThrow(/device must be cpu, cuda or cuda:N.*got gpu/);
    expect(resolveConfig({ device: "cuda:2" }).device).toBe("cuda:2");
  });

  it("names cuda and cuda:0 alike, as metrics label them", () => {
    expect(deviceName("cuda")).toBe("cuda:0");
    expect(deviceName("cuda:0")).toBe("cuda:0");
    expect(deviceName("cuda:7")).toBe("cuda:7");
    expect(deviceName("cpu")).toBe("cpu");
  });
});
