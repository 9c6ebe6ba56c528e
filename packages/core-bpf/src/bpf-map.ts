/**
 * A kernel map, by fd, with raw byte keys and values. Maps of a loaded BpfObject are owned by it;
 * maps opened from a pin, an id, or created here own their fd and must be closed.
 * Per-CPU maps take and return values for all possible CPUs, each slot rounded up to 8 bytes.
 */
import { closeSync } from 'node:fs';
import { ERRNO, InvalidArgumentError, PinIncompatibleError, SyscallError } from './errors.js';
import { BPF } from './ffi/bpf-constants.js';
import { ffiStructSize } from './ffi/ffi-structs.js';
import { checkLibbpf, libbpf } from './ffi/libbpf-api.js';
import { Lifetime } from './lifetime.js';
import { type BatchTarget, deleteMany, lookupChunks, updateMany } from './map-batch.js';
import { type MapExpectation, mapDifferences } from './map-compat.js';
import { type MapType, isPerCpuMapType, mapTypeNumber } from './map-type.js';
import { validatePinPath } from './bpffs.js';
import { type MapInfo, readMapInfo } from './object-info.js';
import { openPin, pinFd } from './pin-path.js';

const ENOENT = ERRNO.ENOENT;
const kindName = { prog: 'program', link: 'link', map: 'map', other: 'bpf object' } as const;

/** How an update treats an existing key: upsert (BPF_ANY), create only (BPF_NOEXIST), replace only (BPF_EXIST). */
export type UpdateMode = 'upsert' | 'create' | 'replace';
const updateFlags: Record<UpdateMode, number> = { upsert: BPF.update.ANY, create: BPF.update.NOEXIST, replace: BPF.update.EXIST };

export function updateModeFlag(mode: UpdateMode): number {
  const flag = updateFlags[mode];
  if (flag === undefined) {
    throw new InvalidArgumentError(`update mode "${String(mode)}": accepted are upsert, create, replace`);
  }
  return flag;
}

/** Definition of a map created with BpfMap.create. */
export interface MapDefinition {
  readonly type: MapType;
  /** Kernel name, at most 15 characters of [A-Za-z0-9_.]. */
  readonly name?: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  /** BPF_F_* map flags (e.g. 1 = BPF_F_NO_PREALLOC, required for lpm_trie). */
  readonly flags?: number;
}

let possibleCpus: number | undefined;
function numPossibleCpus(): number {
  if (possibleCpus === undefined) {
    const n = libbpf.libbpf_num_possible_cpus();
    if (n <= 0) throw new SyscallError('libbpf_num_possible_cpus', n, 'count possible cpus');
    possibleCpus = n;
  }
  return possibleCpus;
}

export class BpfMap {
  readonly #fd: number;
  readonly #info: MapInfo;
  readonly #name: string;
  readonly #lifetime: Lifetime;
  readonly #ownsFd: boolean;
  readonly #batch: BatchTarget['batch'] = {};
  /** Bytes of one value in user space (per-CPU maps: every possible CPU, 8-byte aligned slots). */
  readonly valueBufferSize: number;

  private constructor(fd: number, info: MapInfo, name: string, lifetime: Lifetime, ownsFd: boolean) {
    this.#fd = fd;
    this.#info = info;
    this.#name = name;
    this.#lifetime = lifetime;
    this.#ownsFd = ownsFd;
    this.valueBufferSize = isPerCpuMapType(info.type)
      ? Math.ceil(info.valueSize / 8) * 8 * numPossibleCpus()
      : info.valueSize;
  }

  /** @internal A map of a loaded object: the object closes the fd. */
  static fromObject(fd: number, name: string, lifetime: Lifetime): BpfMap {
    return new BpfMap(fd, readMapInfo(fd), name, lifetime, false);
  }

  /** @internal Adopt an fd that this map will own. */
  static adopt(fd: number, what: string): BpfMap {
    try {
      const info = readMapInfo(fd);
      return new BpfMap(fd, info, info.name || what, new Lifetime(`map ${info.name || what}`, fd), true);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /**
   * Open a map pinned at `path`. With `expect`, a map that differs (type, sizes, max entries, flags)
   * is refused with PinIncompatibleError, as is a pin that is not a map.
   */
  static fromPinned(path: string, expect: MapExpectation = {}): BpfMap {
    const { fd, kind } = openPin(validatePinPath(path), `open pinned map ${path}`);
    if (kind !== 'map') {
      closeSync(fd);
      throw new PinIncompatibleError(path, `it is a ${kindName[kind]}, not a map`);
    }
    const map = BpfMap.adopt(fd, path);
    const diff = mapDifferences(map.#info, expect);
    if (diff.length > 0) {
      map.close();
      throw new PinIncompatibleError(path, diff.join('; '));
    }
    return map;
  }

  /** Open a map by its kernel id. */
  static fromId(id: number): BpfMap {
    if (!Number.isInteger(id) || id <= 0) throw new InvalidArgumentError(`map id must be a positive integer, got ${id}`);
    return BpfMap.adopt(checkLibbpf('bpf_map_get_fd_by_id', libbpf.bpf_map_get_fd_by_id(id), `open map id ${id}`), `id ${id}`);
  }

  /** Create a map without BTF (for tests, scratch maps, inner maps). */
  static create(def: MapDefinition): BpfMap {
    const type = mapTypeNumber(def.type);
    for (const field of ['keySize', 'valueSize', 'maxEntries'] as const) {
      const v = def[field];
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
        throw new InvalidArgumentError(`create map: ${field} must be an integer 0..4294967295, got ${v}`);
      }
    }
    if (def.name !== undefined && !/^[A-Za-z0-9_.]{0,15}$/.test(def.name)) {
      throw new InvalidArgumentError(`create map: name "${def.name}" must be at most 15 characters of [A-Za-z0-9_.]`);
    }
    const opts = {
      sz: ffiStructSize('bpf_map_create_opts'), btf_fd: 0, btf_key_type_id: 0, btf_value_type_id: 0, btf_vmlinux_value_type_id: 0,
      inner_map_fd: 0, map_flags: def.flags ?? 0, map_extra: 0, numa_node: 0, map_ifindex: 0,
    };
    const fd = libbpf.bpf_map_create(type, def.name ?? null, def.keySize, def.valueSize, def.maxEntries, opts);
    return BpfMap.adopt(checkLibbpf('bpf_map_create', fd, `create ${def.type} map ${def.name ?? ''}`.trimEnd()), def.name ?? def.type);
  }

  get name(): string {
    return this.#name;
  }
  get type(): MapType {
    return this.#info.type;
  }
  get keySize(): number {
    return this.#info.keySize;
  }
  get valueSize(): number {
    return this.#info.valueSize;
  }
  get maxEntries(): number {
    return this.#info.maxEntries;
  }
  get flags(): number {
    return this.#info.flags;
  }
  get id(): number {
    return this.#info.id;
  }
  /** Number of per-CPU value slots (1 for ordinary maps). */
  get cpuSlots(): number {
    return isPerCpuMapType(this.#info.type) ? numPossibleCpus() : 1;
  }
  get closed(): boolean {
    return this.#lifetime.closed;
  }

  /** The map's file descriptor (owned by this map or its object; do not close it). */
  get fd(): number {
    this.#lifetime.assertOpen(`map ${this.#name}`);
    return this.#fd;
  }

  /** What the kernel reports about the map (refreshed: ids, BTF ids, flags). */
  info(): MapInfo {
    return readMapInfo(this.fd);
  }

  #key(key: Uint8Array, op: string): Uint8Array {
    if (!(key instanceof Uint8Array) || key.length !== this.#info.keySize) {
      throw new InvalidArgumentError(
        `${op} map ${this.#name}: key must be a Uint8Array of ${this.#info.keySize} bytes, got ${key instanceof Uint8Array ? `${key.length} bytes` : typeof key}`,
      );
    }
    return key;
  }

  #value(value: Uint8Array, op: string): Uint8Array {
    if (!(value instanceof Uint8Array) || value.length !== this.valueBufferSize) {
      throw new InvalidArgumentError(
        `${op} map ${this.#name}: value must be a Uint8Array of ${this.valueBufferSize} bytes` +
          `${this.cpuSlots > 1 ? ` (${this.cpuSlots} cpus x ${Math.ceil(this.valueSize / 8) * 8})` : ''}, got ${value instanceof Uint8Array ? `${value.length} bytes` : typeof value}`,
      );
    }
    return value;
  }

  /** The value stored under `key`, or undefined. */
  lookup(key: Uint8Array): Buffer | undefined {
    const fd = this.fd;
    const value = Buffer.alloc(this.valueBufferSize);
    const err = libbpf.bpf_map_lookup_elem(fd, this.#key(key, 'lookup in'), value);
    if (err === -ENOENT) return undefined;
    if (err < 0) throw new SyscallError('bpf_map_lookup_elem', err, `lookup in map ${this.#name}`);
    return value;
  }

  update(key: Uint8Array, value: Uint8Array, mode: UpdateMode = 'upsert'): void {
    const fd = this.fd;
    const flag = updateModeFlag(mode);
    const err = libbpf.bpf_map_update_elem(fd, this.#key(key, 'update'), this.#value(value, 'update'), flag);
    if (err < 0) throw new SyscallError('bpf_map_update_elem', err, `update map ${this.#name} (${mode})`);
  }

  /** Delete `key`; false when it was not there. */
  delete(key: Uint8Array): boolean {
    const fd = this.fd;
    const err = libbpf.bpf_map_delete_elem(fd, this.#key(key, 'delete from'));
    if (err === -ENOENT) return false;
    if (err < 0) throw new SyscallError('bpf_map_delete_elem', err, `delete from map ${this.#name}`);
    return true;
  }

  /** Remove and return the value under `key` (also pops queue/stack maps with an empty key). */
  lookupAndDelete(key: Uint8Array): Buffer | undefined {
    const fd = this.fd;
    const value = Buffer.alloc(this.valueBufferSize);
    const k = this.#info.keySize === 0 ? null : this.#key(key, 'lookup and delete in');
    const err = libbpf.bpf_map_lookup_and_delete_elem(fd, k, value);
    if (err === -ENOENT) return undefined;
    if (err < 0) throw new SyscallError('bpf_map_lookup_and_delete_elem', err, `lookup and delete in map ${this.#name}`);
    return value;
  }

  /** The key after `key` (the first key without one), or undefined at the end. */
  nextKey(key?: Uint8Array): Buffer | undefined {
    const fd = this.fd;
    const next = Buffer.alloc(this.#info.keySize);
    const err = libbpf.bpf_map_get_next_key(fd, key === undefined ? null : this.#key(key, 'iterate'), next);
    if (err === -ENOENT) return undefined;
    if (err < 0) throw new SyscallError('bpf_map_get_next_key', err, `iterate map ${this.#name}`);
    return next;
  }

  /** Every key (a snapshot walk; concurrent changes may be missed or seen). */
  *keys(): Generator<Buffer> {
    let key = this.nextKey();
    while (key) {
      yield key;
      key = this.nextKey(key);
    }
  }

  /** Number of entries (a key walk; for array maps this is max_entries). */
  count(): number {
    let n = 0;
    for (const _ of this.keys()) n++;
    return n;
  }

  #target(): BatchTarget {
    return { fd: this.fd, name: this.#name, keySize: this.keySize, valueBufferSize: this.valueBufferSize, batch: this.#batch };
  }

  /** Every entry, read in chunks (batch lookups where the kernel has them). */
  *entries(chunkSize = 256): Generator<[Buffer, Buffer]> {
    if (!Number.isInteger(chunkSize) || chunkSize < 1) {
      throw new InvalidArgumentError(`read map ${this.#name}: chunk size must be a positive integer`);
    }
    for (const [keys, values, count] of lookupChunks(this.#target(), chunkSize)) {
      for (let i = 0; i < count; i++) {
        yield [
          Buffer.from(keys.subarray(i * this.keySize, (i + 1) * this.keySize)),
          Buffer.from(values.subarray(i * this.valueBufferSize, (i + 1) * this.valueBufferSize)),
        ];
      }
    }
  }

  /** Write many entries at once (one batch syscall where supported). */
  updateBatch(entries: ReadonlyArray<readonly [Uint8Array, Uint8Array]>, mode: UpdateMode = 'upsert'): void {
    const flag = updateModeFlag(mode);
    if (entries.length === 0) return;
    const keys = Buffer.alloc(entries.length * this.keySize);
    const values = Buffer.alloc(entries.length * this.valueBufferSize);
    entries.forEach(([k, v], i) => {
      keys.set(this.#key(k, 'update'), i * this.keySize);
      values.set(this.#value(v, 'update'), i * this.valueBufferSize);
    });
    updateMany(this.#target(), keys, values, entries.length, flag);
  }

  /**
   * Write `count` entries from two packed buffers (keys back to back, values back to back, each of
   * this map's key size and value buffer size), without copying them: the zero-copy path of
   * TypedMap.setMany and of callers that pack entries themselves.
   */
  updatePacked(keys: Buffer, values: Buffer, count: number, mode: UpdateMode = 'upsert'): void {
    if (count === 0) return;
    if (keys.length !== count * this.keySize || values.length !== count * this.valueBufferSize) {
      throw new InvalidArgumentError(`update map ${this.#name}: packed buffers do not hold ${count} entries`);
    }
    updateMany(this.#target(), keys, values, count, updateModeFlag(mode));
  }

  /** Delete `count` keys packed back to back (without copying them); absent keys are skipped. Returns how many were deleted. */
  deletePacked(keys: Buffer, count: number): number {
    if (count === 0) return 0;
    if (keys.length !== count * this.keySize) {
      throw new InvalidArgumentError(`delete from map ${this.#name}: packed buffer does not hold ${count} keys`);
    }
    return deleteMany(this.#target(), keys, count);
  }

  /** Delete many keys at once; keys already absent are skipped. Returns how many were deleted. */
  deleteBatch(keys: ReadonlyArray<Uint8Array>): number {
    if (keys.length === 0) return 0;
    const buf = Buffer.alloc(keys.length * this.keySize);
    keys.forEach((k, i) => buf.set(this.#key(k, 'delete from'), i * this.keySize));
    return deleteMany(this.#target(), buf, keys.length);
  }

  /** Pin the map at `path` on bpffs (fails with EEXIST if something is pinned there). */
  pin(path: string): void {
    pinFd(this.fd, path, `map ${this.#name}`);
  }

  /** Make the map read-only for user space (the program can still write). Irreversible. */
  freeze(): void {
    checkLibbpf('bpf_map_freeze', libbpf.bpf_map_freeze(this.fd), `freeze map ${this.#name}`);
  }

  /** Close the fd if this map owns it (maps of an object close with the object). Idempotent. */
  close(): void {
    if (this.#ownsFd) this.#lifetime.end();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
