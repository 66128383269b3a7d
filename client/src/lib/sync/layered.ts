import type { InventoryState } from '@floorsync/domain';

/**
 * Copy-on-write states for the replica. The overlay (confirmed state + pending scans) and a
 * pull page being applied both start as a copy of the confirmed state; with 100,000 stock
 * lines a real copy costs tens of milliseconds — on every scan after a sync. A layered state
 * is an O(1) copy: its maps read through to the base and keep their own writes and deletes;
 * index maps (Map<key, Set>) copy a Set the first time it is read, since the domain mutates
 * index Sets in place. `flatten` writes a layer into its base once it is committed.
 *
 * Values of the other maps are never mutated in place by the domain (it replaces them), so
 * sharing them is safe.
 */
const DELETED = Symbol('deleted');

export class LayeredMap<K, V> extends Map<K, V> {
  private readonly layer = new Map<K, V | typeof DELETED>();
  private count: number;

  constructor(
    readonly base: Map<K, V>,
    private readonly copy?: (v: V) => V,
  ) {
    super();
    this.count = base.size;
  }

  override get(k: K): V | undefined {
    if (this.layer.has(k)) {
      const v = this.layer.get(k);
      return v === DELETED ? undefined : v;
    }
    const v = this.base.get(k);
    if (v !== undefined && this.copy) {
      const c = this.copy(v);
      this.layer.set(k, c);
      return c;
    }
    return v;
  }
  override has(k: K): boolean {
    if (this.layer.has(k)) return this.layer.get(k) !== DELETED;
    return this.base.has(k);
  }
  override set(k: K, v: V): this {
    if (!this.has(k)) this.count++;
    this.layer.set(k, v);
    return this;
  }
  override delete(k: K): boolean {
    if (!this.has(k)) return false;
    this.layer.set(k, DELETED);
    this.count--;
    return true;
  }
  override clear(): void {
    for (const k of this.base.keys()) this.layer.set(k, DELETED);
    for (const [k, v] of this.layer) if (v !== DELETED && !this.base.has(k)) this.layer.delete(k);
    this.count = 0;
  }
  override get size(): number {
    return this.count;
  }
  override *entries(): MapIterator<[K, V]> {
    for (const [k, v] of this.base) {
      if (!this.layer.has(k)) yield [k, v];
      else {
        const lv = this.layer.get(k);
        if (lv !== DELETED) yield [k, lv as V];
      }
    }
    for (const [k, v] of this.layer) if (v !== DELETED && !this.base.has(k)) yield [k, v];
  }
  override *keys(): MapIterator<K> {
    for (const [k] of this.entries()) yield k;
  }
  override *values(): MapIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }
  override [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }
  override forEach(fn: (v: V, k: K, m: Map<K, V>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this);
  }

  /** Writes this layer into the base (the base is changed in place) and returns the base. */
  flatten(): Map<K, V> {
    for (const [k, v] of this.layer) {
      if (v === DELETED) this.base.delete(k);
      else this.base.set(k, v);
    }
    this.layer.clear();
    return this.base;
  }
}

const index = <K, V>(m: Map<K, Set<V>>) => new LayeredMap(m, (s) => new Set(s));
const plain = <K, V>(m: Map<K, V>) => new LayeredMap(m);

/** A copy of `base` in O(1): reads go through, writes stay in the copy. */
export function overlayState(base: InventoryState): InventoryState {
  return {
    items: plain(base.items),
    skus: plain(base.skus),
    barcodes: plain(base.barcodes),
    positions: plain(base.positions),
    codes: plain(base.codes),
    children: index(base.children),
    stock: plain(base.stock),
    byPosition: index(base.byPosition),
    byItem: index(base.byItem),
    bySerial: index(base.bySerial),
    lots: plain(base.lots),
    lotsByCode: index(base.lotsByCode),
    movements: plain(base.movements),
  };
}

/** Writes an overlay into the state it was made from and returns that state. */
export function flatten(state: InventoryState): InventoryState {
  const f = <K, V>(m: Map<K, V>): Map<K, V> =>
    m instanceof LayeredMap ? (m as LayeredMap<K, V>).flatten() : m;
  return {
    items: f(state.items),
    skus: f(state.skus),
    barcodes: f(state.barcodes),
    positions: f(state.positions),
    codes: f(state.codes),
    children: f(state.children),
    stock: f(state.stock),
    byPosition: f(state.byPosition),
    byItem: f(state.byItem),
    bySerial: f(state.bySerial),
    lots: f(state.lots),
    lotsByCode: f(state.lotsByCode),
    movements: f(state.movements),
  };
}
