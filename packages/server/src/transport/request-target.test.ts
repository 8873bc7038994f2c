import { describe, expect, it } from "vitest";
import { requestUrl } from "./request-target.js";

describe("request targets", () => {
  it("keeps a target that starts with // as path instead of reading a host from it", () => {
    expect(requestUrl("///%00/x")?.pathname).toBe("///%00/x");
    expect(requestUrl("//%zz")?.pathname).toBe("//%zz");
    expect(requestUrl("//evil.example/ws")?.pathname).toBe("//evil.example/ws");
    expect(requestUrl("//evil.example/ws")?.host).toBe("localhost");
  });

  it("reads ordinary, absolute and missing targets, and answers undefined for what is not a URL", () => {
    expect(requestUrl("/healthz?x=1")?.pathname).toBe("/healthz");
    expect(requestUrl("/healthz?x=1")?.searchParams.get("x")).toBe("1");
    expect(requestUrl("http://other.example/ws")?.pathname).toBe("/ws");
    expect(requestUrl(undefined)?.pathname).toBe("/");
    expect(requestUrl("*")).toBeUndefined();
    expect(requestUrl("http://%zz/")).toBeUndefined();
  });
});
