/**
 * A raw HTTP/2 client over a TCP socket, for tests that need frames a well-behaved client never
 * sends (a burst of HEADERS + DATA + RST_STREAM, resets with chosen codes) and to see the frames
 * the server answers with (GOAWAY). HPACK is literal-only (no Huffman, no dynamic table).
 */
import net from "node:net";

export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8 } as const;
export const FLAG = { END_STREAM: 1, ACK: 1, END_HEADERS: 4 } as const;

export function frame(type: number, flags: number, streamId: number, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId, 5);
  return Buffer.concat([h, payload]);
}

/** A literal header field without indexing, new name (RFC 7541 6.2.2); lengths < 127. */
function literal(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x00, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]);
}

/** A header block for a POST of `path`; extra headers are literal. */
export function postHeaders(path: string, extra: Record<string, string> = {}): Buffer {
  // 0x83: indexed :method POST, 0x86: indexed :scheme http (RFC 7541 appendix A).
  return Buffer.concat([Buffer.from([0x83, 0x86]), literal(":path", path), literal(":authority", "localhost"), ...Object.entries(extra).map(([k, v]) => literal(k, v))]);
}

/** A gRPC length-prefixed message. */
export function grpcMessage(bytes: Uint8Array): Buffer {
  const b = Buffer.alloc(5 + bytes.length);
  b.writeUInt32BE(bytes.length, 1);
  b.set(bytes, 5);
  return b;
}

export function rstStream(streamId: number, code: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code, 0);
  return frame(FRAME.RST_STREAM, 0, streamId, p);
}

export interface RawConnection {
  socket: net.Socket;
  write(data: Buffer): void;
  /** The first GOAWAY the server sent: last stream id and error code. */
  goaway: Promise<{ lastStreamId: number; code: number }>;
  /** Every frame received so far (payloads of HEADERS are HPACK, not decoded). */
  frames: { type: number; flags: number; streamId: number; payload: Buffer }[];
  /** Resolves when the server closes the connection. */
  closed: Promise<void>;
  destroy(): void;
}

/** Opens a cleartext HTTP/2 connection (prior knowledge), acks the server's SETTINGS. */
export function rawConnect(port: number): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let onGoaway!: (g: { lastStreamId: number; code: number }) => void;
    const goaway = new Promise<{ lastStreamId: number; code: number }>((r) => (onGoaway = r));
    const closed = new Promise<void>((r) => socket.once("close", () => r()));
    let buf = Buffer.alloc(0);
    const frames: RawConnection["frames"] = [];
    socket.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const type = buf[3]!;
        frames.push({ type, flags: buf[4]!, streamId: buf.readUInt32BE(5) & 0x7fffffff, payload: Buffer.from(buf.subarray(9, 9 + len)) });
        if (type === FRAME.GOAWAY) onGoaway({ lastStreamId: buf.readUInt32BE(9) & 0x7fffffff, code: buf.readUInt32BE(13) });
        if (type === FRAME.SETTINGS && !(buf[4]! & FLAG.ACK)) socket.write(frame(FRAME.SETTINGS, FLAG.ACK, 0));
        buf = buf.subarray(9 + len);
      }
    });
    socket.on("error", () => undefined);
    socket.once("connect", () => {
      socket.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
      socket.write(frame(FRAME.SETTINGS, 0, 0));
      resolve({ socket, frames, write: (data) => void socket.write(data), goaway, closed, destroy: () => socket.destroy() });
    });
    socket.once("error", reject);
  });
}
