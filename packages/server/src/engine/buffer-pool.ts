/**
 * Buffers of a few sizes used once per frame and then free, kept for the next frame instead of
 * left to the garbage collector (large typed arrays are what drives its full collections).
 */
export class BufferPool<T extends { length: number }> {
  private readonly free = new Map<number, T[]>();

  /** `make(size)` builds one when none of that size is free; `keep` per size at most are held. */
  constructor(private readonly make: (size: number) => T, private readonly keep = 16) {}

  take(size: number): T {
    return this.free.get(size)?.pop() ?? this.make(size);
  }

  give(buffer: T): void {
    let list = this.free.get(buffer.length);
    if (!list) this.free.set(buffer.length, (list = []));
    // A burst's worth; more would only hold memory.
    if (list.length < this.keep) list.push(buffer);
  }
}
