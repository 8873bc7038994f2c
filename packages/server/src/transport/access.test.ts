import { describe, expect, it } from "vitest";
import { selectSubprotocol, wsToken } from "./access.js";

describe("WebSocket subprotocols", () => {
  it("never answers with the token offered as bearer.TOKEN", () => {
    expect(selectSubprotocol(new Set(["bearer.s3cret"]))).toBe(false);
    expect(selectSubprotocol(new Set(["bearer.s3cret", "lipsync"]))).toBe("lipsync");
    expect(selectSubprotocol(new Set(["bearer.s3cret", "other"]))).toBe("other");
    expect(selectSubprotocol(new Set())).toBe(false);
  });

  it("still reads the token from the subprotocol", () => {
    expect(wsToken("/ws", { "sec-websocket-protocol": "lipsync, bearer.s3cret" })).toBe("s3cret");
  });
});
