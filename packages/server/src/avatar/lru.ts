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

/** A Map that forgets its oldest entries past `capacity` (insertion order). */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly capacity: number) {
    super();
  }

  override set(key: K, value: V): this {
    super.set(key, value);
    while (this.size > this.capacity) this.delete(this.keys().next().value!);
    return this;
  }
}
