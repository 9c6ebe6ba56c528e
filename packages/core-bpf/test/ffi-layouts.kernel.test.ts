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

/**
 * Our spelling of each number next to libbpf's. libbpf names the types up to its own newest one
 * (null after that), so only the newest entries of our table may go unnamed by an older libbpf.
 */
function spellings(table: ReadonlyMap<string, number>, libbpfName: (n: number) => string | null) {
  const all = [...table].sort((a, b) => a[1] - b[1]).map(([ours, n]) => ({ n, ours, libbpf: libbpfName(n) }));
  const named = all.filter((s) => s.libbpf !== null);
  return { all, named };
}

describe('type tables', () => {
  it('spell map types as libbpf does', () => {
    const { all, named } = spellings(mapTypeNumbers, (n) => libbpf.libbpf_bpf_map_type_str(n));
    expect(named.map((s) => `${s.n}:${s.ours}`)).toEqual(named.map((s) => `${s.n}:${s.libbpf}`));
    expect(all.slice(0, named.length)).toEqual(named); // unnamed ones only at the end
    expect(named.map((s) => s.ours)).toEqual(expect.arrayContaining(['hash', 'lpm_trie', 'sockhash', 'ringbuf'])); // the ones bpfsteer uses
  });

  it('spell program types as libbpf does', () => {
    const { all, named } = spellings(programTypeNumbers, (n) => libbpf.libbpf_bpf_prog_type_str(n));
    expect(named.map((s) => `${s.n}:${s.ours}`)).toEqual(named.map((s) => `${s.n}:${s.libbpf}`));
    expect(all.slice(0, named.length)).toEqual(named);
    expect(named.map((s) => s.ours)).toEqual(expect.arrayContaining(['sched_cls', 'cgroup_skb', 'sock_ops', 'cgroup_sock_addr', 'sk_lookup']));
  });
});
