import { describe, expect, it } from 'vitest';
import type { BtfLayout } from '../../src/btf/btf-layout.js';
import { checkLayout, flattenMembers } from '../../src/btf/layout-check.js';
import { array, bytes } from '../../src/codec/array-codecs.js';
import { be16, u16, u32, u64, u8 } from '../../src/codec/int-codecs.js';
import { ipv4 } from '../../src/codec/net-codecs.js';
import { pad, skip, struct } from '../../src/codec/struct-codec.js';

const int = (name: string, size: number): BtfLayout => ({ kind: 'int', name, size, signed: false });
const member = (name: string, offset: number, type: BtfLayout, bitSize = 0) => ({ name, offset, type, bitSize });
const cStruct = (name: string, size: number, members: ReturnType<typeof member>[]): BtfLayout => ({
  kind: 'struct', name, size, members,
});

// struct core_route { __u32 action; __be32 gateway; __be16 port; __u8 flags; __u8 pad; __u32 pad2; __u64 cookie; }
const coreRoute = cStruct('core_route', 24, [
  member('action', 0, int('__u32', 4)),
  member('gateway', 4, int('__be32', 4)),
  member('port', 8, int('__be16', 2)),
  member('flags', 10, int('__u8', 1)),
  member('pad', 11, int('__u8', 1)),
  member('pad2', 12, int('__u32', 4)),
  member('cookie', 16, int('__u64', 8)),
]);

describe('checkLayout', () => {
  it('accepts a codec that mirrors the C struct', () => {
    const codec = struct({ action: u32, gateway: ipv4, port: be16, flags: u8, pad: pad(1), pad2: pad(4), cookie: u64 });
    expect(checkLayout(codec.layout, coreRoute, 'value')).toEqual([]);
  });

  it('matches camelCase fields to snake_case members and honours cNames', () => {
    const c = cStruct('k', 8, [member('next_hop', 0, int('__u32', 4)), member('if_index', 4, int('__u32', 4))]);
    expect(checkLayout(struct({ nextHop: u32, ifIndex: u32 }).layout, c, 'key')).toEqual([]);
    expect(checkLayout(struct({ gw: u32, dev: u32 }, { cNames: { gw: 'next_hop', dev: 'if_index' } }).layout, c, 'key')).toEqual([]);
  });

  it.each([
    [
      'a size difference',
      struct({ action: u32, gateway: ipv4, port: be16, flags: u8, pad: pad(1) }),
      /^value: codec is 12 bytes .* C type struct core_route is 24 bytes$/,
    ],
    [
      'swapped fields of the same size',
      struct({ gateway: ipv4, action: u32, port: be16, flags: u8, pad: pad(1), pad2: pad(4), cookie: u64 }),
      /value\.gateway: codec offset 0, C member gateway is at offset 4/,
    ],
    [
      'an unknown field name',
      struct({ action: u32, gw: ipv4, port: be16, flags: u8, pad: pad(1), pad2: pad(4), cookie: u64 }),
      /value\.gw: struct core_route has no member "gw" \(members: action, gateway/,
    ],
    [
      'padding over a real member',
      struct({ action: u32, gateway: ipv4, port: be16, pad: pad(2), pad2: pad(4), cookie: u64 }),
      /value\.pad: pad\(2\) covers C member flags \(offset 10\); decode it, or use skip\(n\)/,
    ],
    [
      'an integer where C has an array',
      struct({ action: u32, gateway: ipv4, port: u16, flags: u8, pad: pad(1), pad2: pad(4), cookie: array(u32, 2) }),
      /value\.cookie: codec is an array \(u32\[2\]\), C type is __u64/,
    ],
  ])('reports %s', (_label, codec, message) => {
    const problems = checkLayout(codec.layout, coreRoute, 'value');
    expect(problems.some((p) => message.test(p)), problems.join('\n')).toBe(true);
  });

  it('lets skip() cover any member and reports undecoded members', () => {
    expect(checkLayout(struct({ action: u32, _rest: skip(20) }).layout, coreRoute, 'v')).toEqual([]);
    const partial = struct({ action: u32, gateway: ipv4, port: be16, flags: u8, pad: pad(1), _x: skip(4), cookie: u64 });
    expect(checkLayout(partial.layout, coreRoute, 'v')).toEqual([]);
  });

  it('accepts C holes under pad() and checks arrays element-wise', () => {
    const holey = cStruct('h', 8, [member('a', 0, int('__u8', 1)), member('b', 4, int('__u32', 4))]);
    expect(checkLayout(struct({ a: u8, _p: pad(3), b: u32 }).layout, holey, 'k')).toEqual([]);
    const arr: BtfLayout = { kind: 'array', name: '', size: 8, count: 4, element: int('__u16', 2) };
    expect(checkLayout(array(u16, 4).layout, arr, 'k')).toEqual([]);
    expect(checkLayout(bytes(8).layout, arr, 'k')).toEqual([]);
    expect(checkLayout(array(u8, 8).layout, arr, 'k')[0]).toMatch(/codec has 8 elements, C array __u16\[4\] has 4/);
  });

  it('refuses bitfields and flattens anonymous members', () => {
    const bits = cStruct('b', 4, [member('x', 0, int('__u32', 4), 3), member('y', 0, int('__u32', 4), 29)]);
    expect(checkLayout(struct({ x: u32 }).layout, bits, 'v').join()).toMatch(/3-bit bitfield/);
    const inner = cStruct('', 4, [member('lo', 0, int('__u16', 2)), member('hi', 2, int('__u16', 2))]);
    const outer = cStruct('o', 8, [member('a', 0, int('__u32', 4)), member('', 4, inner)]);
    expect(flattenMembers((outer as Extract<BtfLayout, { kind: 'struct' | 'union' }>).members).map((m) => [m.name, m.offset])).toEqual([
      ['a', 0], ['lo', 4], ['hi', 6],
    ]);
    expect(checkLayout(struct({ a: u32, lo: u16, hi: u16 }).layout, outer, 'v')).toEqual([]);
  });

  it('checks a prefix of a growing struct when asked', () => {
    const grown = cStruct('info', 16, [member('a', 0, int('__u32', 4)), member('b', 4, int('__u32', 4)), member('c', 8, int('__u64', 8))]);
    expect(checkLayout(struct({ a: u32, b: u32 }).layout, grown, 'info', { prefix: true })).toEqual([]);
    expect(checkLayout(struct({ b: u32, a: u32 }).layout, grown, 'info', { prefix: true })).toHaveLength(2);
    expect(checkLayout(struct({ a: u32, b: u32 }).layout, grown, 'info')).toHaveLength(1);
  });
});
