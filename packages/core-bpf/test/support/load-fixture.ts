/**
 * The core_links fixture (bpf/test/core_links.bpf.c) for the link kernel tests, loaded through
 * BpfObject; its programs are used as ProgramRef, its maps read by slot (bpf/test/core_links.h).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BpfObject } from '../../src/bpf-object.js';
import type { ProgramRef } from '../../src/link.js';

export const FIXTURE_DIR = fileURLToPath(new URL('../../../../bpf/build/test/', import.meta.url));

export class Fixture implements Disposable {
  readonly #obj: BpfObject;

  private constructor(obj: BpfObject) {
    this.#obj = obj;
  }

  static load(file: string): Fixture {
    const path = `${FIXTURE_DIR}${file}`;
    if (!existsSync(path)) throw new Error(`fixture ${path} missing: run make -C bpf`);
    const obj = BpfObject.open(path);
    try {
      obj.load();
    } catch (err) {
      obj.close();
      throw err;
    }
    return new Fixture(obj);
  }

  /** A loaded program: BpfObject's Program satisfies ProgramRef. */
  program(name: string): ProgramRef {
    return this.#obj.program(name);
  }

  update(map: string, key: Uint8Array, value: Uint8Array): void {
    this.#obj.map(map).update(key, value);
  }

  lookup(map: string, key: Uint8Array): Buffer | undefined {
    return this.#obj.map(map).lookup(key);
  }

  close(): void {
    this.#obj.close();
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

/** The core_links fixture, loaded. */
export function loadCoreLinks(): Fixture {
  return Fixture.load('core_links.bpf.o');
}

export function counter(fx: Fixture, slot: number): bigint {
  return fx.lookup('counters', u32(slot))?.readBigUInt64LE(0) ?? 0n;
}

export function markCount(fx: Fixture, map: 'egress_marks' | 'ingress_marks', mark: number): bigint {
  return fx.lookup(map, u32(mark))?.readBigUInt64LE(0) ?? 0n;
}
