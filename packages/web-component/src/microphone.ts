/**
 * Microphone capture as Float32 chunks at the context's rate, through an AudioWorklet loaded
 * from an in-memory module (no extra file to serve).
 */
const WORKLET = `
class Capture extends AudioWorkletProcessor {
  constructor() { super(); this.buf = []; this.n = 0; }
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (ch) {
      this.buf.push(ch.slice(0)); this.n += ch.length;
      if (this.n >= 1920) {
        const out = new Float32Array(this.n); let o = 0;
        for (const b of this.buf) { out.set(b, o); o += b.length; }
        this.port.postMessage(out, [out.buffer]); this.buf = []; this.n = 0;
      }
    }
    return true;
  }
}
registerProcessor("lipsync-capture", Capture);
`;

export class Microphone {
  private stream: MediaStream | undefined;
  private node: AudioWorkletNode | undefined;
  private source: MediaStreamAudioSourceNode | undefined;

  constructor(private readonly ctx: AudioContext, private readonly onChunk: (samples: Float32Array) => void) {}

  async start(): Promise<void> {
    if (!navigator.mediaDevices?.getUserMedia) throw new Error("this browser cannot capture the microphone");
    this.stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true } });
    const url = URL.createObjectURL(new Blob([WORKLET], { type: "text/javascript" }));
    try {
      await this.ctx.audioWorklet.addModule(url);
    } finally {
      URL.revokeObjectURL(url);
    }
    this.source = this.ctx.createMediaStreamSource(this.stream);
    this.node = new AudioWorkletNode(this.ctx, "lipsync-capture");
    this.node.port.onmessage = (e: MessageEvent<Float32Array>) => this.onChunk(e.data);
    this.source.connect(this.node);
  }

  stop(): void {
    this.source?.disconnect();
    this.node?.disconnect();
    for (const t of this.stream?.getTracks() ?? []) t.stop();
    this.stream = undefined;
    this.node = undefined;
    this.source = undefined;
  }

  get active(): boolean {
    return this.stream !== undefined;
  }
}
