/**
 * Face detection and 68-point landmarks, offline: @vladmandic/face-api with the weights its npm
 * package ships, on TensorFlow.js's WebAssembly backend (its .wasm files ship in
 * @tensorflow/tfjs-backend-wasm, so nothing is downloaded, unlike tfjs-node which fetches
 * libtensorflow at install). On the 2-core machine: SSD MobileNet v1 + landmarks about 300 ms
 * for a photo; landmarks alone on a known box (video tracking) a few tens of ms.
 */
import { createRequire } from "node:module";
import path from "node:path";
import type { RgbImage } from "../../engine/image-ops.js";

/** One face: detector score, box (x, y, w, h) and 68 landmark points as [x0, y0, x1, y1, ...]. */
export interface Face {
  score: number;
  box: [number, number, number, number];
  points: Float64Array;
}

// The slice of face-api's API used here (its bundled typings pull in all of tfjs).
interface Tensor3D {
  dispose(): void;
}
interface Tf {
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  getBackend(): string;
  tensor3d(values: Uint8Array, shape: [number, number, number], dtype: "int32"): Tensor3D;
  engine(): { startScope(): void; endScope(): void };
  env(): { set(flag: string, value: unknown): void };
}
interface Point {
  x: number;
  y: number;
}
interface FaceApiResult {
  detection: { score: number; box: { x: number; y: number; width: number; height: number } };
  landmarks: { positions: Point[] };
}
interface FaceApi {
  tf: Tf;
  nets: Record<"ssdMobilenetv1" | "faceLandmark68Net", { loadFromDisk(dir: string): Promise<void>; isLoaded: boolean }>;
  SsdMobilenetv1Options: new (o: { minConfidence: number; maxResults?: number }) => unknown;
  detectAllFaces(input: Tensor3D, options: unknown): { withFaceLandmarks(): Promise<FaceApiResult[]> };
  detectFaceLandmarks(input: Tensor3D): Promise<{ positions: Point[] } | undefined>;
  Box: new (b: { x: number; y: number; width: number; height: number }) => unknown;
  extractFaceTensors(input: Tensor3D, boxes: unknown[]): Promise<Tensor3D[]>;
}

let loaded: Promise<FaceApi> | undefined;

async function load(): Promise<FaceApi> {
  const require = createRequire(import.meta.url);
  // face-api's node-wasm build re-exports @tensorflow/tfjs with the wasm backend registered.
  const faceapi = require("@vladmandic/face-api/dist/face-api.node-wasm.js") as FaceApi;
  await faceapi.tf.setBackend("wasm");
  await faceapi.tf.ready();
  const modelDir = path.join(path.dirname(require.resolve("@vladmandic/face-api/package.json")), "model");
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(modelDir);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(modelDir);
  return faceapi;
}

function toFace(r: FaceApiResult): Face {
  const b = r.detection.box;
  const points = new Float64Array(136);
  r.landmarks.positions.forEach((p, i) => {
    points[2 * i] = p.x;
    points[2 * i + 1] = p.y;
  });
  return { score: r.detection.score, box: [b.x, b.y, b.width, b.height], points };
}

/** The detector and landmark networks, loaded once per process. */
export class FaceFinder {
  private constructor(private readonly api: FaceApi) {}

  static async create(): Promise<FaceFinder> {
    loaded ??= load();
    return new FaceFinder(await loaded);
  }

  /** Every face scoring at least `minScore`, largest first. */
  async detect(image: RgbImage, minScore = 0.5): Promise<Face[]> {
    const t = this.api.tf.tensor3d(image.data, [image.height, image.width, 3], "int32");
    try {
      const found = await this.api.detectAllFaces(t, new this.api.SsdMobilenetv1Options({ minConfidence: minScore, maxResults: 10 })).withFaceLandmarks();
      return found.map(toFace).sort((a, b) => b.box[2] * b.box[3] - a.box[2] * a.box[3]);
    } finally {
      t.dispose();
    }
  }

  /**
   * Landmarks inside a known box (tracking a face from the previous frame): no detector pass.
   * The box is squared and widened as the landmark network expects a loose face crop.
   */
  async landmarksIn(image: RgbImage, box: [number, number, number, number]): Promise<Float64Array> {
    const [x, y, w, h] = box;
    const side = Math.max(w, h) * 1.15;
    const cx = x + w / 2;
    const cy = y + h / 2;
    const x0 = Math.max(0, Math.round(cx - side / 2));
    const y0 = Math.max(0, Math.round(cy - side / 2));
    const x1 = Math.min(image.width, Math.round(cx + side / 2));
    const y1 = Math.min(image.height, Math.round(cy + side / 2));
    const t = this.api.tf.tensor3d(image.data, [image.height, image.width, 3], "int32");
    try {
      const [faceTensor] = await this.api.extractFaceTensors(t, [new this.api.Box({ x: x0, y: y0, width: x1 - x0, height: y1 - y0 })]);
      try {
        const lm = await this.api.detectFaceLandmarks(faceTensor!);
        const points = new Float64Array(136);
        // Landmarks come relative to the crop, in its pixels.
        lm!.positions.forEach((p, i) => {
          points[2 * i] = p.x + x0;
          points[2 * i + 1] = p.y + y0;
        });
        return points;
      } finally {
        faceTensor!.dispose();
      }
    } finally {
      t.dispose();
    }
  }
}
