/**
 * The packed weights of the WebAssembly kernels, kept in linear memory between calls. A slot holds
 * one weight storage's copy in one packing (`key`: the dtype, the kind of packing and the
 * geometry parts it depends on) for one write count of that storage (Tensor.version, passed down
 * as a WeightKey); a call that brings the same storage back with the same version and key reuses
 * it, one with another version frees it. Slots live in an arena at the bottom of the heap, below
 * the regions of a call (glue.ts places those after `end`); the arena holds at most `cap` bytes
 * (least recently used slots are evicted, the rest compacted when no gap fits). Nothing here keeps
 * a storage alive: slots are found through a WeakMap and freed by a FinalizationRegistry once
 * their storage is collected.
 */

/** Default cap of the cached bytes: 64 MiB (the packed weights of a 16M-parameter float32 model). */
export const DEFAULT_CACHE_BYTES = 64 << 20;

/** One storage's packed weights in one packing: `at` (a byte address of linear memory), `bytes` (a multiple of 64). */
export interface Slot {
  at: number;
  readonly bytes: number;
  readonly version: number;
  readonly key: string;
  /** Every weight is finite (the guard of the padding taps; set by the caller when it fills the slot). */
  finite: boolean;
  live: boolean;
  /** The slots of the same storage (to unlink it on eviction). */
  readonly family: Map<string, Slot>;
}

/** What the cache counts: calls that reused a slot, calls that packed (cacheable calls only), and the bytes and slots held now. */
export interface WeightCacheStats { hits: number; misses: number; bytes: number; entries: number }

const up64 = (v: number) => Math.ceil(v / 64) * 64;

export class WeightCache {
  #byStorage = new WeakMap<object, Map<string, Slot>>();
  /** Live slots, least recently used first. */
  #lru = new Set<Slot>();
  #cap = DEFAULT_CACHE_BYTES;
  #live = 0;
  #end = 0;
  #hits = 0;
  #misses = 0;
  #registry = new FinalizationRegistry<Map<string, Slot>>((family) => {
    for (const s of family.values()) this.#free(s);
  });

  /** `base`: the byte address where the arena starts. */
  constructor(readonly base: number) {}

  /** The first byte address after every slot (where a call's own regions may start). */
  get end(): number {
    return this.base + this.#end;
  }

  get cap(): number {
    return this.#cap;
  }

  /** Sets the cap (bytes; 0: no caching), evicting the least recently used slots above it. */
  setCap(bytes: number): void {
    this.#cap = bytes;
    for (const s of this.#lru) {
      if (this.#live <= bytes) break;
      this.#free(s);
    }
  }

  stats(): WeightCacheStats {
    return { hits: this.#hits, misses: this.#misses, bytes: this.#live, entries: this.#lru.size };
  }

  /**
   * The slot of `storage` in packing `key` at `version`, counted as a hit; undefined (a miss) where
   * there is none, freeing a slot of another version.
   */
  lookup(storage: object, version: number, key: string): Slot | undefined {
    const s = this.#byStorage.get(storage)?.get(key);
    if (s && s.version === version) {
      this.#lru.delete(s);
      this.#lru.add(s);
      this.#hits++;
      return s;
    }
    if (s) this.#free(s);
    this.#misses++;
    return undefined;
  }

  /**
   * A new slot of `bytes` for `storage` in packing `key` at `version` (the caller fills it, or
   * drops it if the call fails), or null where it exceeds the cap. Evicts the least recently
   * used slots until it fits under the cap, and moves the others down (`memory`: the bytes of
   * linear memory) where no gap between them takes it.
   */
  reserve(storage: object, version: number, key: string, bytes: number, memory: Uint8Array): Slot | null {
    const need = up64(bytes);
    if (need === 0 || need > this.#cap) return null;
    for (const s of this.#lru) {
      if (this.#live + need <= this.#cap) break;
      this.#free(s);
    }
    const at = this.#gap(need) ?? this.#compact(memory);
    let family = this.#byStorage.get(storage);
    if (!family) {
      family = new Map();
      this.#byStorage.set(storage, family);
      this.#registry.register(storage, family);
    }
    const slot: Slot = { at, bytes: need, version, key, finite: true, live: true, family };
    family.set(key, slot);
    this.#lru.add(slot);
    this.#live += need;
    this.#end = Math.max(this.#end, at + need - this.base);
    return slot;
  }

  /** Frees a slot (one whose filling failed). */
  drop(s: Slot): void {
    this.#free(s);
  }

  /** Forgets every slot (the memory they were in is released, or a call needs the whole heap). */
  clear(): void {
    for (const s of this.#lru) s.live = false;
    this.#lru.clear();
    this.#byStorage = new WeakMap();
    this.#live = 0;
    this.#end = 0;
  }

  /** The first gap of `need` bytes between the slots, or at their end within the cap. */
  #gap(need: number): number | undefined {
    let cursor = this.base;
    for (const s of [...this.#lru].sort((p, q) => p.at - q.at)) {
      if (s.at - cursor >= need) return cursor;
      cursor = s.at + s.bytes;
    }
    return cursor - this.base + need <= this.#cap ? cursor : undefined;
  }

  /** Moves every slot down to the base, in address order, and returns the end (the live bytes are under the cap less the new slot). */
  #compact(memory: Uint8Array): number {
    let cursor = this.base;
    for (const s of [...this.#lru].sort((p, q) => p.at - q.at)) {
      if (s.at !== cursor) memory.copyWithin(cursor, s.at, s.at + s.bytes);
      s.at = cursor;
      cursor += s.bytes;
    }
    this.#end = cursor - this.base;
    return cursor;
  }

  #free(s: Slot): void {
    if (!s.live) return;
    s.live = false;
    this.#lru.delete(s);
    if (s.family.get(s.key) === s) s.family.delete(s.key);
    this.#live -= s.bytes;
    let end = 0;
    for (const t of this.#lru) end = Math.max(end, t.at + t.bytes - this.base);
    this.#end = end;
  }
}
