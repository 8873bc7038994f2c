/**
 * An audio front-end worker (frontend-pool.ts): a FrontEndHost for the utterances assigned to
 * it. Messages in: { type: "open", key, spec } | { type: "push", key, samples } | { type: "end", key }
 * | { type: "drop", key }. Out: { key, update } with the inputs' buffers transferred.
 */
import { parentPort } from "node:worker_threads";
import { FrontEndHost, type FrontEndUpdate, type UtteranceSpec } from "./host.js";

const host = new FrontEndHost();

type Message =
  | { type: "open"; key: number; spec: UtteranceSpec }
  | { type: "push"; key: number; samples: Float32Array }
  | { type: "end"; key: number }
  | { type: "drop"; key: number };

function send(key: number, update: FrontEndUpdate | undefined): void {
  if (update) parentPort!.postMessage({ key, update }, update.inputs.map((i) => i.buffer as ArrayBuffer));
}

parentPort!.on("message", (msg: Message) => {
  try {
    if (msg.type === "open") host.open(msg.key, msg.spec);
    else if (msg.type === "push") send(msg.key, host.push(msg.key, msg.samples));
    else if (msg.type === "end") send(msg.key, host.end(msg.key));
    else host.drop(msg.key);
  } catch (err) {
    parentPort!.postMessage({ key: msg.key, error: String((err as Error)?.message ?? err) });
  }
});
