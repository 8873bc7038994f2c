/** Types of live.mjs (plain JavaScript, so that sessions.mjs runs without a build). */
export declare const CHUNK_SAMPLES: number;
export declare const CHUNK_MS: number;
export declare function speech(seconds: number, wav?: string): Buffer;
export declare function pace(pcm: Buffer, send: (chunk: Buffer, k: number) => void, done: () => void, sentAt?: number[]): () => void;
