/**
 * Batch map operations (BPF_MAP_*_BATCH) with a per-element fallback for map types that lack them.
 * Buffers hold `count` keys (or values) back to back.
 */
import { ERRNO, SyscallError } from './errors.js';
import { ffiStructSize } from './ffi/ffi-structs.js';
import { libbpf } from './ffi/libbpf-api.js';

const { ENOENT, EINVAL, ENOSPC, EOPNOTSUPP, ENOTSUPP } = ERRNO;

/** What the batch helpers need to know about a map. */
export interface BatchTarget {
  readonly fd: number;
  readonly name: string;
  readonly keySize: number;
  /** Bytes per value in user space (per-CPU maps: all CPUs). */
  readonly valueBufferSize: number;
  /** Which batch operations the kernel supports for this map; undefined until tried. */
  readonly batch: { lookup?: boolean; update?: boolean; delete?: boolean };
}

const opts = (elemFlags: number) => ({ sz: ffiStructSize('bpf_map_batch_opts'), elem_flags: elemFlags, flags: 0 });

function unsupported(err: number): boolean {
  return err === -EINVAL || err === -ENOTSUPP || err === -EOPNOTSUPP;
}

/** Chunks of [keys, values, count]; uses batch lookups when the kernel has them for this map. */
export function* lookupChunks(target: BatchTarget, chunkSize: number): Generator<[Buffer, Buffer, number]> {
  if (target.batch.lookup !== false) {
    let chunk = chunkSize;
    let inBatch: Buffer<ArrayBufferLike> | null = null;
    let outBatch: Buffer<ArrayBufferLike> = Buffer.alloc(Math.max(target.keySize, 8));
    let first = true;
    for (;;) {
      const keys = Buffer.alloc(chunk * target.keySize);
      const values = Buffer.alloc(chunk * target.valueBufferSize);
      const count = new Uint32Array([chunk]);
      const err = libbpf.bpf_map_lookup_batch(target.fd, inBatch, outBatch, keys, values, count, opts(0));
      if (err < 0 && err !== -ENOENT) {
        if (first && unsupported(err)) {
          target.batch.lookup = false;
          break;
        }
        if (err === -ENOSPC && chunk < 1 << 20) {
          chunk *= 4; // a hash bucket holds more entries than the chunk: retry bigger
          continue;
        }
        throw new SyscallError('bpf_map_lookup_batch', err, `read map ${target.name}`);
      }
      first = false;
      target.batch.lookup = true;
      if (count[0] > 0) yield [keys, values, count[0]];
      if (err === -ENOENT) return;
      [inBatch, outBatch] = [outBatch, inBatch ?? Buffer.alloc(outBatch.length)];
    }
  }
  // fallback: walk the keys one by one
  let prev: Buffer | null = null;
  for (;;) {
    const keys = Buffer.alloc(chunkSize * target.keySize);
    const values = Buffer.alloc(chunkSize * target.valueBufferSize);
    let n = 0;
    let done = false;
    while (n < chunkSize) {
      const next = keys.subarray(n * target.keySize, (n + 1) * target.keySize);
      const err = libbpf.bpf_map_get_next_key(target.fd, prev, next);
      if (err === -ENOENT) {
        done = true;
        break;
      }
      if (err < 0) throw new SyscallError('bpf_map_get_next_key', err, `read map ${target.name}`);
      prev = Buffer.from(next);
      const value = values.subarray(n * target.valueBufferSize, (n + 1) * target.valueBufferSize);
      const lerr = libbpf.bpf_map_lookup_elem(target.fd, next, value);
      if (lerr === -ENOENT) continue; // deleted between the two calls
      if (lerr < 0) throw new SyscallError('bpf_map_lookup_elem', lerr, `read map ${target.name}`);
      n++;
    }
    if (n > 0) yield [keys, values, n];
    if (done) return;
  }
}

/** Write `count` entries with one flag (BPF_ANY/NOEXIST/EXIST); throws with how many were written. */
export function updateMany(target: BatchTarget, keys: Buffer, values: Buffer, count: number, elemFlags: number): void {
  let done = 0;
  if (target.batch.update !== false && count > 1) {
    const n = new Uint32Array([count]);
    const err = libbpf.bpf_map_update_batch(target.fd, keys, values, n, opts(elemFlags));
    if (err >= 0) {
      target.batch.update = true;
      return;
    }
    if (!(unsupported(err) && n[0] === 0 && target.batch.update === undefined)) {
      throw new SyscallError('bpf_map_update_batch', err, `update map ${target.name} (${n[0]} of ${count} written)`);
    }
    target.batch.update = false;
  }
  for (; done < count; done++) {
    const err = libbpf.bpf_map_update_elem(
      target.fd,
      keys.subarray(done * target.keySize, (done + 1) * target.keySize),
      values.subarray(done * target.valueBufferSize, (done + 1) * target.valueBufferSize),
      elemFlags,
    );
    if (err < 0) {
      throw new SyscallError('bpf_map_update_elem', err, `update map ${target.name} (${done} of ${count} written)`);
    }
  }
}

/** Delete `count` keys; keys that are already gone are skipped. Returns how many were deleted. */
export function deleteMany(target: BatchTarget, keys: Buffer, count: number): number {
  let deleted = 0;
  let start = 0;
  if (target.batch.delete !== false && count > 1) {
    while (start < count) {
      const n = new Uint32Array([count - start]);
      const err = libbpf.bpf_map_delete_batch(target.fd, keys.subarray(start * target.keySize), n, opts(0));
      if (err >= 0) {
        target.batch.delete = true;
        return deleted + n[0];
      }
      if (err === -ENOENT) {
        target.batch.delete = true;
        deleted += n[0];
        start += n[0] + 1; // skip the key that was already gone
        continue;
      }
      if (unsupported(err) && n[0] === 0 && target.batch.delete === undefined && start === 0) {
        target.batch.delete = false;
        break;
      }
      throw new SyscallError('bpf_map_delete_batch', err, `delete from map ${target.name} (${deleted + n[0]} of ${count} deleted)`);
    }
    if (target.batch.delete !== false) return deleted;
  }
  for (let i = start; i < count; i++) {
    const err = libbpf.bpf_map_delete_elem(target.fd, keys.subarray(i * target.keySize, (i + 1) * target.keySize));
    if (err === -ENOENT) continue;
    if (err < 0) throw new SyscallError('bpf_map_delete_elem', err, `delete from map ${target.name} (${deleted} of ${count} deleted)`);
    deleted++;
  }
  return deleted;
}
