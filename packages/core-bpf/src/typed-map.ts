/**
 * A map with typed keys and values. Wrapping checks the codecs against the kernel map: sizes always,
 * and every field offset against the map's BTF when it has one (MapLayoutError on any drift).
 */
import { Btf } from './btf/btf.js';
import type { BpfMap, UpdateMode } from './bpf-map.js';
import { type Codec, encodeValue } from './codec/codec.js';
import { perCpuCodec } from './codec/per-cpu-codec.js';
import { InvalidArgumentError, SyscallError } from './errors.js';
import { hasCapability } from './capabilities.js';
import { diffEntries } from './map-diff.js';
import { assertCodecLayouts, assertCodecSizes } from './map-layout.js';
import { isArrayMapType, isPerCpuMapType } from './map-type.js';

export interface TypedMapOptions {
  /** Check field layouts against the map's BTF (default true; maps without BTF are checked by size only). */
  readonly checkBtf?: boolean;
}

export interface ReconcileResult {
  readonly added: number;
  readonly changed: number;
  /** Keys deleted (array maps: entries reset to zero). */
  readonly removed: number;
  readonly unchanged: number;
}

export class TypedMap<K, V> {
  readonly map: BpfMap;
  readonly keyCodec: Codec<K>;
  readonly valueCodec: Codec<V>;

  private constructor(map: BpfMap, key: Codec<K>, value: Codec<V>) {
    this.map = map;
    this.keyCodec = key;
    this.valueCodec = value;
  }

  /** Type a map that is not per-CPU. */
  static wrap<K, V>(map: BpfMap, key: Codec<K>, value: Codec<V>, options: TypedMapOptions = {}): TypedMap<K, V> {
    if (isPerCpuMapType(map.type)) {
      throw new InvalidArgumentError(`map ${map.name} is a ${map.type} map: use TypedMap.wrapPerCpu`);
    }
    checkCodecs(map, key, value, options);
    return new TypedMap(map, key, value);
  }

  /** Type a per-CPU map: values are arrays with one element per possible CPU. */
  static wrapPerCpu<K, V>(map: BpfMap, key: Codec<K>, value: Codec<V>, options: TypedMapOptions = {}): TypedMap<K, V[]> {
    if (!isPerCpuMapType(map.type)) {
      throw new InvalidArgumentError(`map ${map.name} is a ${map.type} map, not per-CPU: use TypedMap.wrap`);
    }
    checkCodecs(map, key, value, options);
    return new TypedMap(map, key, perCpuCodec(value, map.cpuSlots));
  }

  get name(): string {
    return this.map.name;
  }

  #key(key: K): Buffer {
    return encodeValue(this.keyCodec, key, `map ${this.map.name}: key`);
  }

  #value(value: V): Buffer {
    return encodeValue(this.valueCodec, value, `map ${this.map.name}: value`);
  }

  get(key: K): V | undefined {
    const raw = this.map.lookup(this.#key(key));
    return raw && this.valueCodec.decode(raw, 0);
  }

  has(key: K): boolean {
    return this.map.lookup(this.#key(key)) !== undefined;
  }

  set(key: K, value: V, mode: UpdateMode = 'upsert'): void {
    this.map.update(this.#key(key), this.#value(value), mode);
  }

  /** False when the key was not there. */
  delete(key: K): boolean {
    return this.map.delete(this.#key(key));
  }

  /** Remove and return the value under `key`. */
  take(key: K): V | undefined {
    const raw = this.map.lookupAndDelete(this.#key(key));
    return raw && this.valueCodec.decode(raw, 0);
  }

  *keys(): Generator<K> {
    for (const k of this.map.keys()) yield this.keyCodec.decode(k, 0);
  }

  *entries(): Generator<[K, V]> {
    for (const [k, v] of this.map.entries()) yield [this.keyCodec.decode(k, 0), this.valueCodec.decode(v, 0)];
  }

  /** Number of entries (array maps: max_entries). */
  count(): number {
    return this.map.count();
  }

  [Symbol.iterator](): Generator<[K, V]> {
    return this.entries();
  }

  /** Write many entries (batched). Every entry is encoded, and so validated, before any is written. */
  setMany(entries: Iterable<readonly [K, V]>, mode: UpdateMode = 'upsert'): void {
    const list = Array.isArray(entries) ? (entries as ReadonlyArray<readonly [K, V]>) : [...entries];
    const keySize = this.keyCodec.size;
    const valueSize = this.map.valueBufferSize;
    const keys = Buffer.alloc(list.length * keySize);
    const values = Buffer.alloc(list.length * valueSize);
    const keyPath = `map ${this.map.name}: key`;
    const valuePath = `map ${this.map.name}: value`;
    for (let i = 0; i < list.length; i++) {
      const [k, v] = list[i];
      this.keyCodec.encode(k, keys, i * keySize, keyPath);
      this.valueCodec.encode(v, values, i * valueSize, valuePath);
    }
    this.map.updatePacked(keys, values, list.length, mode);
  }

  /** Delete many keys (batched); absent keys are skipped. Returns how many were deleted. */
  deleteMany(keys: Iterable<K>): number {
    const list = Array.isArray(keys) ? (keys as readonly K[]) : [...keys];
    const keySize = this.keyCodec.size;
    const packed = Buffer.alloc(list.length * keySize);
    const keyPath = `map ${this.map.name}: key`;
    for (let i = 0; i < list.length; i++) this.keyCodec.encode(list[i], packed, i * keySize, keyPath);
    return this.map.deletePacked(packed, list.length);
  }

  /** Remove every entry (array maps: reset every value to zero). Returns how many were removed. */
  clear(): number {
    return this.#apply(diffEntries(this.map.entries(), [], { arrayLike: isArrayMapType(this.map.type) })).removed;
  }

  /**
   * Make the map hold exactly `desired`: writes new and changed entries first, then removes the rest
   * (array maps: resets them to zero), so lookups never miss an entry that stays. Every desired entry
   * is validated before anything is written.
   */
  reconcile(desired: Iterable<readonly [K, V]>): ReconcileResult {
    const want = [...desired].map(([k, v]) => [this.#key(k), this.#value(v)] as const);
    return this.#apply(diffEntries(this.map.entries(), want, { arrayLike: isArrayMapType(this.map.type) }));
  }

  #apply(diff: ReturnType<typeof diffEntries>): ReconcileResult {
    this.map.updateBatch(diff.upserts);
    let removed: number;
    if (isArrayMapType(this.map.type)) {
      const zero = Buffer.alloc(this.map.valueBufferSize);
      this.map.updateBatch(diff.removals.map((k) => [k, zero] as const));
      removed = diff.removals.length;
    } else {
      removed = this.map.deleteBatch(diff.removals);
    }
    return { added: diff.added, changed: diff.changed, removed, unchanged: diff.unchanged };
  }
}

function checkCodecs(map: BpfMap, key: Codec<unknown>, value: Codec<unknown>, options: TypedMapOptions): void {
  assertCodecSizes(map.name, map, key, value);
  if (options.checkBtf === false) return;
  const info = map.info();
  if (info.btfId === 0 || (info.btfKeyTypeId === 0 && info.btfValueTypeId === 0)) return;
  let btf: Btf;
  try {
    btf = Btf.fromKernelId(info.btfId);
  } catch (err) {
    // reading a map's BTF back (BPF_BTF_GET_FD_BY_ID) needs CAP_SYS_ADMIN: a process with CAP_BPF
    // alone keeps the size checks above and goes without this layout check
    if (err instanceof SyscallError && err.errno === 'EPERM' && !hasCapability('SYS_ADMIN')) return;
    throw err;
  }
  try {
    assertCodecLayouts(map.name, btf, { key: info.btfKeyTypeId, value: info.btfValueTypeId }, key, value);
  } finally {
    btf.close();
  }
}
