/**
 * Reads C types from BTF (an object's, a kernel map's, or vmlinux) into BtfLayout trees. The raw
 * `struct btf_type` records (uapi linux/btf.h, a stable format) are decoded from libbpf's memory.
 */
import { ClosedError, NotFoundError, SyscallError } from '../errors.js';
import { koffi, lastErrno, type Ptr } from '../ffi/lib.js';
import { libbpf } from '../ffi/libbpf-api.js';
import type { BtfLayout, BtfMember } from './btf-layout.js';

/** BTF_KIND_* numbers. */
const Kind = {
  INT: 1, PTR: 2, ARRAY: 3, STRUCT: 4, UNION: 5, ENUM: 6, FWD: 7, TYPEDEF: 8, VOLATILE: 9, CONST: 10,
  RESTRICT: 11, FUNC: 12, FUNC_PROTO: 13, VAR: 14, DATASEC: 15, FLOAT: 16, DECL_TAG: 17, TYPE_TAG: 18, ENUM64: 19,
} as const;

const kindNumbers = { struct: Kind.STRUCT, union: Kind.UNION, typedef: Kind.TYPEDEF, datasec: Kind.DATASEC, var: Kind.VAR, enum: Kind.ENUM };
export type BtfNamedKind = keyof typeof kindNumbers;

interface RawType {
  name: string;
  kind: number;
  vlen: number;
  kflag: boolean;
  /** size for INT/ENUM/STRUCT/UNION/FLOAT/DATASEC, referenced type for the others */
  sizeOrType: number;
  /** the bytes after the 12-byte header */
  extra: DataView;
}

/** One entry of a data section (.rodata, .data, .bss). */
export interface BtfVariable {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
  readonly type: BtfLayout;
}

const extraSize = (kind: number, vlen: number): number => {
  switch (kind) {
    case Kind.INT:
    case Kind.VAR:
    case Kind.DECL_TAG:
      return 4;
    case Kind.ARRAY:
      return 12;
    case Kind.STRUCT:
    case Kind.UNION:
    case Kind.DATASEC:
    case Kind.ENUM64:
      return 12 * vlen;
    case Kind.ENUM:
    case Kind.FUNC_PROTO:
      return 8 * vlen;
    default:
      return 0;
  }
};

export class Btf {
  #ptr: Ptr | null;
  readonly #owned: boolean;
  readonly #what: string;
  readonly #cache = new Map<number, BtfLayout>();

  private constructor(ptr: Ptr, owned: boolean, what: string) {
    this.#ptr = ptr;
    this.#owned = owned;
    this.#what = what;
  }

  /** The running kernel's BTF (/sys/kernel/btf/vmlinux). Close it when done. */
  static vmlinux(): Btf {
    const ptr = libbpf.btf__load_vmlinux_btf();
    if (!ptr) throw new SyscallError('btf__load_vmlinux_btf', lastErrno(), 'load vmlinux btf');
    return new Btf(ptr, true, 'vmlinux btf');
  }

  /** BTF loaded into the kernel, by id (e.g. a map's btf_id). Close it when done. */
  static fromKernelId(id: number): Btf {
    const ptr = libbpf.btf__load_from_kernel_by_id(id);
    if (!ptr) throw new SyscallError('btf__load_from_kernel_by_id', lastErrno(), `load btf id ${id}`);
    return new Btf(ptr, true, `btf id ${id}`);
  }

  /** BTF owned by someone else (a bpf_object); valid while the owner is open. */
  static borrow(ptr: Ptr, what: string): Btf {
    return new Btf(ptr, false, what);
  }

  close(): void {
    if (this.#ptr && this.#owned) libbpf.btf__free(this.#ptr);
    this.#ptr = null;
  }

  #handle(): Ptr {
    if (!this.#ptr) throw new ClosedError(this.#what);
    return this.#ptr;
  }

  #raw(id: number): RawType {
    const btf = this.#handle();
    const ptr = libbpf.btf__type_by_id(btf, id);
    if (!ptr) throw new NotFoundError(`type id ${id} in ${this.#what}`);
    const head = new DataView(koffi.view(ptr, 12));
    const info = head.getUint32(4, true);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const extraLen = extraSize(kind, vlen);
    const all = koffi.view(ptr, 12 + extraLen);
    return {
      name: libbpf.btf__name_by_offset(btf, head.getUint32(0, true)) ?? '',
      kind,
      vlen,
      kflag: info >>> 31 === 1,
      sizeOrType: head.getUint32(8, true),
      extra: new DataView(all, 12, extraLen),
    };
  }

  /** Id of the named type of the given kind. */
  findType(name: string, kind: BtfNamedKind): number {
    const id = libbpf.btf__find_by_name_kind(this.#handle(), name, kindNumbers[kind]);
    if (id <= 0) throw new NotFoundError(`${kind} ${name} in ${this.#what}`);
    return id;
  }

  /** The layout of a type id, typedefs and qualifiers resolved. */
  layout(id: number, depth = 0): BtfLayout {
    const cached = this.#cache.get(id);
    if (cached) return cached;
    if (depth > 64) throw new NotFoundError(`a finite layout for type id ${id} in ${this.#what}`);
    const layout = this.#decode(id, depth);
    this.#cache.set(id, layout);
    return layout;
  }

  #decode(id: number, depth: number): BtfLayout {
    if (id === 0) return { kind: 'other', name: 'void', size: 0, btfKind: 0 };
    const t = this.#raw(id);
    switch (t.kind) {
      case Kind.INT: {
        const encoding = (t.extra.getUint32(0, true) >>> 24) & 0xf;
        return { kind: 'int', name: t.name, size: t.sizeOrType, signed: (encoding & 1) === 1 };
      }
      case Kind.ENUM:
      case Kind.ENUM64:
        return { kind: 'enum', name: t.name, size: t.sizeOrType };
      case Kind.FLOAT:
        return { kind: 'float', name: t.name, size: t.sizeOrType };
      case Kind.PTR:
        return { kind: 'ptr', name: '', size: 8 };
      case Kind.TYPEDEF: {
        const target = this.layout(t.sizeOrType, depth + 1);
        // keep the typedef's name (e.g. __be32) for messages
        return { ...target, name: t.name } as BtfLayout;
      }
      case Kind.VOLATILE:
      case Kind.CONST:
      case Kind.RESTRICT:
      case Kind.TYPE_TAG:
        return this.layout(t.sizeOrType, depth + 1);
      case Kind.ARRAY: {
        const element = this.layout(t.extra.getUint32(0, true), depth + 1);
        const count = t.extra.getUint32(8, true);
        return { kind: 'array', name: '', size: element.size * count, count, element };
      }
      case Kind.STRUCT:
      case Kind.UNION: {
        const members: BtfMember[] = [];
        for (let i = 0; i < t.vlen; i++) {
          const nameOff = t.extra.getUint32(i * 12, true);
          const type = t.extra.getUint32(i * 12 + 4, true);
          const raw = t.extra.getUint32(i * 12 + 8, true);
          const bitOffset = t.kflag ? raw & 0xffffff : raw;
          const bitSize = t.kflag ? raw >>> 24 : 0;
          members.push({
            name: libbpf.btf__name_by_offset(this.#handle(), nameOff) ?? '',
            offset: Math.floor(bitOffset / 8),
            bitSize: bitSize || (bitOffset % 8 !== 0 ? 1 : 0),
            type: this.layout(type, depth + 1),
          });
        }
        return { kind: t.kind === Kind.STRUCT ? 'struct' : 'union', name: t.name, size: t.sizeOrType, members };
      }
      default:
        return { kind: 'other', name: t.name, size: 0, btfKind: t.kind };
    }
  }

  /** The variables of a data section (".rodata", ".data", ".bss", ".rodata.str1.1", ...). */
  sectionVariables(section: string): BtfVariable[] {
    const t = this.#raw(this.findType(section, 'datasec'));
    const out: BtfVariable[] = [];
    for (let i = 0; i < t.vlen; i++) {
      const varId = t.extra.getUint32(i * 12, true);
      const v = this.#raw(varId);
      if (v.kind !== Kind.VAR) continue;
      out.push({
        name: v.name,
        offset: t.extra.getUint32(i * 12 + 4, true),
        size: t.extra.getUint32(i * 12 + 8, true),
        type: this.layout(v.sizeOrType),
      });
    }
    return out;
  }
}
