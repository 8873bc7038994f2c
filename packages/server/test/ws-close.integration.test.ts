// The WebSocket layer's own close codes reach the client: 1009 for a message over the 16 MiB
// limit, 1007 for a text message that is not UTF-8 (docs/protocol.md). The server used to
// terminate the socket on the ws library's error event, which often lost the close frame the
// library had just sent: the client saw 1006 (found by `pnpm fuzz`). The server runs in its own
// process here, as deployed: in the test's process the race did not show.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { REPO_ROOT } from "../src/static-mounts.js";

let child: ChildProcess;
let url: string;
beforeAll(async () => {
  child = spawn(process.execPath, ["--conditions", "source", "--import", "tsx", path.join(REPO_ROOT, "packages", "server", "src", "cli.ts"), "serve", "--port", "0", "--host", "127.0.0.1", "--log-level", "warn", "--capacity", "8"],
    { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "inherit"] });
  url = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("server did not listen in 120 s")), 120_000);
    child.once("exit", (code) => reject(new Error(`server exited (${code})`)));
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /open (http:\/\/[^\s]+?)\/? in a browser/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!.replace("http", "ws") + "/ws");
      }
    });
  });
});
afterAll(() => {
  child?.kill("SIGKILL");
});

/** Opens /ws, sends `send(ws)`, and resolves with the close code (10 s at most). */
function closeCodeAfter(send: (ws: WebSocket) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const timer = setTimeout(() => reject(new Error("socket not closed in 10 s")), 10_000);
    ws.on("open", () => send(ws));
    ws.on("close", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    ws.on("error", () => undefined);
  });
}

describe("close codes of the WebSocket layer", () => {
  it("closes with 1009 for every message over 16 MiB", async () => {
    const start = JSON.stringify({ type: "start", avatar: "demo", sample_rate: 16000 });
    for (let i = 0; i < 6; i++) {
      expect(await closeCodeAfter((ws) => {
        ws.send(start);
        ws.send(new Uint8Array(16 * 1024 * 1024 + 2));
      }), `try ${i}`).toBe(1009);
    }
  });

  it("closes with 1007 for text that is not UTF-8", async () => {
    for (let i = 0; i < 6; i++) expect(await closeCodeAfter((ws) => ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false })), `try ${i}`).toBe(1007);
  });
});
