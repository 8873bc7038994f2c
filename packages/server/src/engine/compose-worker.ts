/**
 * A compose worker (compose-pool.ts): frame stores are registered once, then each job names a
 * store and a frame (or carries the frame), and gets back the composited, encoded image.
 *
 * Messages in:  { type: "store", id, buffer, width, height, count } | { type: "drop", id }
 *               { type: "job", id, store?, index?, image?, req }
 * Messages out: { type: "done", id, result } | { type: "error", id, message }
 */
import { parentPort } from "node:worker_threads";
import { composeFrame, type ComposeRequest } from "./compose.js";
import type { RgbImage } from "./image-ops.js";

interface StoreInfo {
  buffer: SharedArrayBuffer;
  width: number;
  height: number;
}

const stores = new Map<number, StoreInfo>();

type Message =
  | ({ type: "store"; id: number } & StoreInfo)
  | { type: "drop"; id: number }
  | { type: "job"; id: number; store?: number; index?: number; image?: RgbImage; req: ComposeRequest };

parentPort!.on("message", (msg: Message) => {
  if (msg.type === "store") {
    stores.set(msg.id, { buffer: msg.buffer, width: msg.width, height: msg.height });
    return;
  }
  if (msg.type === "drop") {
    stores.delete(msg.id);
    return;
  }
  void (async () => {
    try {
      let frame = msg.image;
      if (!frame) {
        const s = stores.get(msg.store!);
        if (!s) throw new Error(`unknown frame store ${msg.store}`);
        const bytes = s.width * s.height * 3;
        frame = { data: new Uint8Array(s.buffer, msg.index! * bytes, bytes), width: s.width, height: s.height };
      }
      const result = await composeFrame(frame, msg.req);
      parentPort!.postMessage({ type: "done", id: msg.id, result }, [result.image.buffer as ArrayBuffer]);
    } catch (err) {
      parentPort!.postMessage({ type: "error", id: msg.id, message: String((err as Error)?.message ?? err) });
    }
  })();
});
