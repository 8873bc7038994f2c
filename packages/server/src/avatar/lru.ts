/** A small LRU of promises, so concurrent misses on one key share one computation. */
export class PromiseLru<V> {
  private readonly map = new Map<number, Promise<V>>();

  constructor(private readonly capacity: number) {}

  get(key: number, compute: () => Promise<V>): Promise<V> {
    const hit = this.map.get(key);
    if (hit) {
      this.map.delete(key);
      this.map.set(key, hit);
      return hit;
    }
    const value = compute();
    this.map.set(key, value);
    value.catch(() => this.map.delete(key));
    while (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value!);
    return value;
  }

  get size(): number {
    return this.map.size;
  }
}
