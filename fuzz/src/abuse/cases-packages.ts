/**
 * Rows 1, 3, 4, 5 and 6 of issue 17: crafted packages put into the server's avatar root while it
 * runs. Each checks the answer, and that the bystander (healthz, RenderFrame, a new session) is
 * served within 1 s while the attack is under way.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { AudioEncoding, SpeakAudioRequestSchema } from "@lipsync/proto";
import { decodeGrpcMessage, envelope } from "../framing.js";
import { h1call } from "../http1.js";
import { findLeak } from "../oracle.js";
import { checker, type AbuseCase } from "./case.js";
import { connectJson, grpcOnce, meanwhile, MEANWHILE_MS, runtimeText, type JsonAnswer } from "./clients.js";
import { failsOnAudioUnet } from "./onnx.js";

/** 16-bit PCM of a buzzy vowel at 16 kHz: enough to start speech. */
function vowel(seconds: number): Uint8Array {
  const n = Math.round(seconds * 16000);
  const out = new Uint8Array(n * 2);
  const v = new DataView(out.buffer);
  for (let i = 0; i < n; i++) {
    const t = i / 16000;
    let x = 0;
    for (let h = 1; h <= 8; h++) x += Math.sin(2 * Math.PI * 140 * h * t) / h;
    v.setInt16(i * 2, Math.round(x * 0.25 * (0.5 + 0.5 * Math.sin(2 * Math.PI * 4 * t)) * 32767), true);
  }
  return out;
}

/** Envelopes of a gRPC-Web or Connect streaming body: [flags, payload]. */
function envelopes(body: Buffer): [number, Buffer][] {
  const out: [number, Buffer][] = [];
  for (let i = 0; i + 5 <= body.length;) {
    const len = body.readUInt32BE(i + 1);
    out.push([body[i]!, body.subarray(i + 5, i + 5 + len)]);
    i += 5 + len;
  }
  return out;
}

const row1: AbuseCase = {
  row: 1,
  name: "internal-error-text",
  async run({ child, root }) {
    const { failures, check } = checker();
    const dir = root.copyDemo("r1-reshape");
    writeFileSync(path.join(dir, "unet.onnx"), failsOnAudioUnet(128, 8, 64));
    const loaded = await connectJson(child.url, "LoadAvatar", { name: "r1-reshape" }, 60_000);
    check(loaded.status === 200, `the crafted model did not load: ${JSON.stringify(loaded.body).slice(0, 300)}`);
    const request = { avatar: "r1-reshape", audioFormat: { encoding: AudioEncoding.PCM_S16LE, sampleRate: 16000, channels: 1 }, audio: vowel(0.8) };
    const binary = envelope(toBinary(SpeakAudioRequestSchema, create(SpeakAudioRequestSchema, request)));
    const json = envelope(Buffer.from(JSON.stringify({ ...request, audioFormat: { encoding: "AUDIO_ENCODING_PCM_S16LE", sampleRate: 16000, channels: 1 }, audio: Buffer.from(request.audio).toString("base64") })));
    const url = new URL(child.url);
    const agent = new http.Agent({ keepAlive: false });
    const path1 = "/lipsync.v1.LipSyncService/SpeakAudio";
    const [grpc, web, connect, during] = await Promise.all([
      grpcOnce(child.url, "SpeakAudio", [{ send: binary }, { end: true }], 20_000),
      h1call(agent, url, { method: "POST", path: path1, headers: { "content-type": "application/grpc-web+proto" }, body: binary, timeoutMs: 20_000 }),
      h1call(agent, url, { method: "POST", path: path1, headers: { "content-type": "application/connect+json" }, body: json, timeoutMs: 20_000 }),
      meanwhile(child.url, 10),
    ]);
    const trailer = envelopes(web.body).find(([f]) => f & 0x80)?.[1].toString() ?? "";
    const webMessage = decodeGrpcMessage(/grpc-message: ?(.*)\r?\n?/i.exec(trailer)?.[1]?.trim());
    const end = envelopes(connect.body).find(([f]) => f & 0x02)?.[1].toString() ?? "{}";
    const connectError = (JSON.parse(end) as { error?: { code?: string; message?: string } }).error;
    const answers = { grpc: `${grpc.grpcStatus} ${grpc.grpcMessage ?? ""}`, "grpc-web": trailer.replace(/\r\n/g, " "), connect: String(JSON.stringify(connectError)) };
    for (const [protocol, message] of [["grpc", grpc.grpcMessage], ["grpc-web", webMessage], ["connect", connectError?.message]] as const) {
      check(message !== undefined, `${protocol}: no error for a model that fails on every frame of speech`);
      const leak = runtimeText(message) ?? findLeak(message);
      check(!leak, `${protocol}: the peer got ONNX Runtime's own text: "${leak}"`);
    }
    await connectJson(child.url, "UnloadAvatar", { name: "r1-reshape" });
    rmSync(dir, { recursive: true });
    return { failures: [...failures, ...during.failures], figures: { answers: Object.fromEntries(Object.entries(answers).map(([k, v]) => [k, v.slice(0, 160)])) }, meanwhile: during };
  },
};

const row3: AbuseCase = {
  row: 3,
  name: "symlinks-out-of-the-root",
  async run({ child, root, rng }) {
    const { failures, check } = checker();
    const frame = (dir: string, i: number) => path.join(dir, "frames", `${String(i).padStart(4, "0")}.jpg`);
    // One package with a frame linked to /etc/passwd, one with a frame linked to a real JPEG of
    // the right size outside the root (only where it lies gives it away), one whose folder is a link.
    const toPasswd = rng.int(1, 124);
    const toOutside = rng.int(1, 124);
    const passwdPkg = root.copyDemo("r3-passwd");
    rmSync(frame(passwdPkg, toPasswd));
    symlinkSync("/etc/passwd", frame(passwdPkg, toPasswd));
    const outsidePkg = root.copyDemo("r3-outside");
    cpSync(frame(outsidePkg, toOutside), path.join(root.outside, "secret.jpg"));
    rmSync(frame(outsidePkg, toOutside));
    symlinkSync(path.join(root.outside, "secret.jpg"), frame(outsidePkg, toOutside));
    root.copyDemo("elsewhere", undefined, root.outside);
    symlinkSync(path.join(root.outside, "elsewhere"), path.join(root.root, "r3-folder"));

    const source = (avatar: string, index: number) => connectJson(child.url, "GetSourceFrame", { avatar, index, view: "SOURCE_VIEW_FULL", format: "IMAGE_FORMAT_JPEG" });
    const [passwd, outside, folder, during] = await Promise.all([
      source("r3-passwd", toPasswd), source("r3-outside", toOutside), connectJson(child.url, "GetAvatar", { name: "r3-folder" }), meanwhile(child.url, 20),
    ]);
    for (const [what, a, pattern] of [
      ["a frame linked to /etc/passwd", passwd, new RegExp(`frame ${toPasswd} .*leads outside the avatar root`)],
      ["a frame linked outside the root", outside, new RegExp(`frame ${toOutside} .*leads outside the avatar root`)],
      ["a package folder linked outside the root", folder, /package folder leads outside the avatar root/],
    ] as const) {
      check(a.status === 400 && a.body.code === "failed_precondition" && pattern.test(String(a.body.message)), `${what}: ${a.status} ${JSON.stringify(a.body).slice(0, 200)}`);
      check(!JSON.stringify(a.body).includes("root:"), `${what}: the answer holds /etc/passwd`);
      check(!findLeak(String(a.body.message)), `${what}: the answer names a path`);
    }
    for (const name of ["r3-passwd", "r3-outside", "r3-folder"]) rmSync(path.join(root.root, name), { recursive: true });
    return { failures: [...failures, ...during.failures], figures: { frames: [toPasswd, toOutside], answers: [passwd, outside, folder].map((a) => `${a.status} ${String(a.body.message).slice(0, 120)}`) }, meanwhile: during };
  },
};

const row4: AbuseCase = {
  row: 4,
  name: "fifo-manifest",
  async run({ child, root }) {
    const { failures, check } = checker();
    mkdirSync(path.join(root.root, "r4-fifo"));
    execFileSync("mkfifo", [path.join(root.root, "r4-fifo", "manifest.json")]);
    const lists = Array.from({ length: 6 }, () => connectJson(child.url, "ListAvatars", {}, 5000).catch((e: Error): JsonAnswer => ({ status: 0, body: { error: e.message }, ms: 5000 })));
    const during = await meanwhile(child.url, 30);
    // The player page: a file read on libuv's threads, which six blocked opens of a FIFO would all hold.
    const t0 = performance.now();
    const page = await fetch(`${child.url}/`, { signal: AbortSignal.timeout(5000) }).then((r) => r.status, () => 0);
    const pageMs = performance.now() - t0;
    const answers = await Promise.all(lists);
    for (const a of answers) {
      check(a.status === 200 && a.ms <= MEANWHILE_MS, `ListAvatars: ${a.status} in ${Math.round(a.ms)} ms`);
      const entry = (a.body.avatars as { name: string; error?: string }[] | undefined)?.find((x) => x.name === "r4-fifo");
      check(/not a regular file/.test(entry?.error ?? ""), `ListAvatars names no refusal for the FIFO: ${JSON.stringify(entry)}`);
    }
    check(page === 200 && pageMs <= MEANWHILE_MS, `GET / answered ${page} in ${Math.round(pageMs)} ms`);
    const get = await connectJson(child.url, "GetAvatar", { name: "r4-fifo" }).catch((e: Error): JsonAnswer => ({ status: 0, body: { message: e.message }, ms: 5000 }));
    check(get.body.code === "failed_precondition" && get.ms <= MEANWHILE_MS, `GetAvatar of the FIFO package: ${get.status} ${JSON.stringify(get.body).slice(0, 160)}`);
    rmSync(path.join(root.root, "r4-fifo"), { recursive: true });
    return { failures: [...failures, ...during.failures], figures: { list_ms: answers.map((a) => Math.round(a.ms)), page_ms: Math.round(pageMs) }, meanwhile: during };
  },
};

const row5: AbuseCase = {
  row: 5,
  name: "huge-frame-count",
  async run({ child, root, rng }) {
    const { failures, check } = checker();
    const base = root.demoManifest();
    root.manifestOnly("r5-million", { ...base, frame_count: 1_000_000 });
    // Within every count, but 32 decoded 8192 x 8192 frames (lazy mode's cache) are 6 GB: past the budget.
    root.manifestOnly("r5-budget", { ...base, frame_count: 100_000, width: 8192, height: 8192, crop_boxes: Array.from({ length: 100_000 }, () => [0, 0, 128, 128]) });
    const rss0 = child.rssMb();
    const calls = rng.int(15, 25);
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: calls }, (_, i) => connectJson(child.url, "GetAvatar", { name: i % 2 ? "r5-million" : "r5-budget" }, 10_000)
      .catch((e: Error): JsonAnswer => ({ status: 0, body: { message: e.message }, ms: 10_000 }))));
    const during = await meanwhile(child.url, 40);
    const ms = performance.now() - started;
    for (const a of answers) check(a.body.code === "failed_precondition" && a.ms <= MEANWHILE_MS, `GetAvatar: ${a.status} in ${Math.round(a.ms)} ms: ${String(a.body.message).slice(0, 160)}`);
    check(answers.some((a) => /"frame_count" must be at most 100000/.test(String(a.body.message))), "no answer names frame_count's limit");
    check(answers.some((a) => /avatar memory budget/.test(String(a.body.message))), "no answer names the memory budget");
    const growth = child.rssMb() - rss0;
    check(growth < 100, `RSS grew ${Math.round(growth)} MB`);
    for (const name of ["r5-million", "r5-budget"]) rmSync(path.join(root.root, name), { recursive: true });
    return { failures: [...failures, ...during.failures], figures: { calls, ms: Math.round(ms), max_call_ms: Math.round(Math.max(...answers.map((a) => a.ms))), rss_growth_mb: Math.round(growth) }, meanwhile: during };
  },
};

const row6: AbuseCase = {
  row: 6,
  name: "huge-manifest",
  async run({ child, root }) {
    const { failures, check } = checker();
    const dir = path.join(root.root, "r6-big");
    mkdirSync(dir);
    const file = path.join(dir, "manifest.json");
    writeFileSync(file, "");
    truncateSync(file, 300 * 2 ** 20); // sparse: 300 MB that cost no disk
    const rss0 = child.rssMb();
    const [lists, during] = await Promise.all([Promise.all(Array.from({ length: 4 }, () => connectJson(child.url, "ListAvatars", {}, 10_000))), meanwhile(child.url, 50)]);
    for (const a of lists) {
      const entry = (a.body.avatars as { name: string; error?: string }[] | undefined)?.find((x) => x.name === "r6-big");
      check(a.ms <= MEANWHILE_MS, `ListAvatars took ${Math.round(a.ms)} ms`);
      check(/over the 8 MB limit for a manifest file/.test(entry?.error ?? ""), `ListAvatars names no refusal of the 300 MB manifest: ${JSON.stringify(entry)}`);
    }
    const growth = child.rssMb() - rss0;
    // Reading it would be +300 MB.
    check(growth < 100, `RSS grew ${Math.round(growth)} MB`);
    rmSync(dir, { recursive: true });
    return { failures: [...failures, ...during.failures], figures: { list_ms: lists.map((a) => Math.round(a.ms)), rss_growth_mb: Math.round(growth) }, meanwhile: during };
  },
};

export const PACKAGE_CASES: AbuseCase[] = [row1, row3, row4, row5, row6];
