import { describe, expect, it } from "vitest";
import { ortMessage } from "./inference-worker.js";

describe("onnxruntime messages for clients", () => {
  it("keeps what tells the user which tensor disagrees, drops file paths", () => {
    expect(ortMessage("Load model from /srv/avatars/may/unet.onnx failed:Protobuf parsing failed.")).toBe("Load model failed: Protobuf parsing failed.");
    expect(ortMessage("Got invalid dimensions for input: audio for the following indices\n index: 1 Got: 8 Expected: 32"))
      .toBe("Got invalid dimensions for input: audio for the following indices");
    const concat = ortMessage("Non-zero status code returned while running Concat node. Name:'/Concat_3' Status Message: /build/onnxruntime/core/providers/cpu/tensor/concatbase.h:133 Non concat axis dimensions must match");
    expect(concat).toContain("Name:'/Concat_3'");
    expect(concat).not.toContain("/build/");
    expect(ortMessage("x".repeat(400))).toHaveLength(300);
  });
});
