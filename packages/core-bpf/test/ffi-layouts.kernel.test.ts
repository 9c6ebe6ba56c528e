// Hand-written layouts against the running kernel: the kernel info structs (the one decoder of each
// in object-info.ts) against vmlinux BTF, and the map/program type tables against libbpf's own names.
// (The FFI structs and constants are checked against the system headers in ffi-layouts.test.ts.)
import { describe, expect, it } from 'vitest';
import { Btf } from '../src/btf/btf.js';
import { checkLayout, flattenMembers } from '../src/btf/layout-check.js';
import { libbpf } from '../src/ffi/libbpf-api.js';
import { mapTypeNumbers } from '../src/map-type.js';
import {
  bpfLinkInfoCodec,
  bpfLinkInfoTargetCodecs,
  bpfMapInfoCodec,
  bpfProgInfoCodec,
  LINK_INFO_UNION_OFFSET,
} from '../src/object-info.js';
import { programTypeNumbers } from '../src/program-type.js';

describe('kernel info structs', () => {
  it.each([
    ['bpf_map_info', bpfMapInfoCodec],
    ['bpf_prog_info', bpfProgInfoCodec],
    ['bpf_link_info', bpfLinkInfoCodec],
  ] as const)('%s codec matches vmlinux BTF', (name, codec) => {
    const btf = Btf.vmlinux();
    try {
      const layout = btf.layout(btf.findType(name, 'struct'));
      expect(checkLayout(codec.layout, layout, name, { prefix: true })).toEqual([]);
    } finally {
      btf.close();
    }
  });
});

describe('bpf_link_info union', () => {
  it.each(Object.entries(bpfLinkInfoTargetCodecs))('member %s matches vmlinux BTF', (member, codec) => {
    const btf = Btf.vmlinux();
    try {
      const info = btf.layout(btf.findType('bpf_link_info', 'struct'));
      if (info.kind !== 'struct') throw new Error('bpf_link_info is not a struct');
      const found = flattenMembers(info.members).find((m) => m.name === member);
      expect(found?.offset, `offset of bpf_link_info.${member}`).toBe(LINK_INFO_UNION_OFFSET);
      expect(checkLayout(codec.layout, found!.type, `bpf_link_info.${member}`)).toEqual([]);
    } finally {
      btf.close();
    }
  });
});

describe('type tables', () => {
  it('spell map types as libbpf does', () => {
    for (const [name, n] of mapTypeNumbers) {
      const libbpfName = libbpf.libbpf_bpf_map_type_str(n);
      if (libbpfName !== null) expect(`${n}:${name}`).toBe(`${n}:${libbpfName}`);
    }
  });

  it('spell program types as libbpf does', () => {
    for (const [name, n] of programTypeNumbers) {
      const libbpfName = libbpf.libbpf_bpf_prog_type_str(n);
      if (libbpfName !== null) expect(`${n}:${name}`).toBe(`${n}:${libbpfName}`);
    }
  });
});
