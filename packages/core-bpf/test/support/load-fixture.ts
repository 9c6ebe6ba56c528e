/**
 * Test-only loader of BPF fixture objects (bpf/build/test/*.bpf.o) straight through libbpf, so the
 * link tests do not depend on BpfObject. Exposes programs as ProgramRef and maps by fd.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { lazyFn, libbpfLib } from '../../src/ffi/lib.js';
import type { ProgramRef } from '../../src/link.js';

const f = {
  open: lazyFn<(path: string, opts: null) => bigint | null>(libbpfLib, 'void *bpf_object__open_file(const char *path, const void *opts)'),
  load: lazyFn<(obj: bigint) => number>(libbpfLib, 'int bpf_object__load(void *obj)'),
  close: lazyFn<(obj: bigint) => void>(libbpfLib, 'void bpf_object__close(void *obj)'),
  findProg: lazyFn<(obj: bigint, name: string) => bigint | null>(libbpfLib, 'void *bpf_object__find_program_by_name(void *obj, const char *name)'),
  progFd: lazyFn<(p: bigint) => number>(libbpfLib, 'int bpf_program__fd(void *prog)'),
  mapFd: lazyFn<(obj: bigint, name: string) => number>(libbpfLib, 'int bpf_object__find_map_fd_by_name(void *obj, const char *name)'),
  update: lazyFn<(fd: number, key: Uint8Array, value: Uint8Array, flags: number) => number>(
    libbpfLib,
    'int bpf_map_update_elem(int fd, const void *key, const void *value, uint64_t flags)',
  ),
  lookup: lazyFn<(fd: number, key: Uint8Array, value: Uint8Array) => number>(libbpfLib, 'int bpf_map_lookup_elem(int fd, const void *key, void *value)'),
};

export const FIXTURE_DIR = fileURLToPath(new URL('../../../../bpf/build/test/', import.meta.url));

export class Fixture implements Disposable {
  readonly #obj: bigint;
  #closed = false;

  private constructor(obj: bigint) {
    this.#obj = obj;
  }

  static load(file: string): Fixture {
    const path = `${FIXTURE_DIR}${file}`;
    if (!existsSync(path)) throw new Error(`fixture ${path} missing: run make -C bpf`);
    const obj = f.open(path, null);
    if (!obj) throw new Error(`bpf_object__open_file ${path} failed`);
    const ret = f.load(obj);
    if (ret < 0) {
      f.close(obj);
      throw new Error(`bpf_object__load ${path} failed: ${ret}`);
    }
    return new Fixture(obj);
  }

  program(name: string): ProgramRef {
    const p = f.findProg(this.#obj, name);
    if (!p) throw new Error(`no program ${name}`);
    return { fd: f.progFd(p), name };
  }

  mapFd(name: string): number {
    const fd = f.mapFd(this.#obj, name);
    if (fd < 0) throw new Error(`no map ${name}`);
    return fd;
  }

  update(map: string, key: Uint8Array, value: Uint8Array): void {
    const ret = f.update(this.mapFd(map), key, value, 0);
    if (ret < 0) throw new Error(`bpf_map_update_elem ${map}: ${ret}`);
  }

  lookup(map: string, key: Uint8Array, valueSize: number): Buffer | undefined {
    const value = Buffer.alloc(valueSize);
    const ret = f.lookup(this.mapFd(map), key, value);
    return ret < 0 ? undefined : value;
  }

  close(): void {
    if (this.#closed) return;
    f.close(this.#obj);
    this.#closed = true;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Slots of `counters` in bpf/test/core_links.h. */
export const CL = {
  TC_INGRESS: 0,
  TC_EGRESS: 1,
  TC_ALT: 2,
  CG_INGRESS: 3,
  CG_EGRESS: 4,
  CONNECT4: 5,
  CONNECT4_REWRITE: 6,
  SOCKOPS: 7,
  SOCKOPS_ESTAB: 8,
  SK_LOOKUP: 9,
  SK_LOOKUP_ASSIGNED: 10,
} as const;

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

/** The core_links fixture (bpf/test/core_links.bpf.c). */
export function loadCoreLinks(): Fixture {
  return Fixture.load('core_links.bpf.o');
}

export function counter(fx: Fixture, slot: number): bigint {
  return fx.lookup('counters', u32(slot), 8)?.readBigUInt64LE(0) ?? 0n;
}

export function markCount(fx: Fixture, map: 'egress_marks' | 'ingress_marks', mark: number): bigint {
  return fx.lookup(map, u32(mark), 8)?.readBigUInt64LE(0) ?? 0n;
}
