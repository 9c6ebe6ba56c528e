import type { TypedMap } from '@bpfsteer/core-bpf';
import { describe, expect, it } from 'vitest';
import { addressKeys, ifAddrKeyId, syncAddresses } from '../src/interface-addresses.js';
import type { IfAddrKey } from '../src/map-codecs.js';

/** A stand-in for the tctp_if_addrs map that records its operations. */
function fakeMap() {
  const held = new Map<string, IfAddrKey>();
  const ops: string[] = [];
  const map = {
    setMany(entries: Iterable<readonly [IfAddrKey, number]>) {
      for (const [k] of entries) {
        held.set(ifAddrKeyId(k), k);
        ops.push(`set ${ifAddrKeyId(k)}`);
      }
    },
    deleteMany(keys: Iterable<IfAddrKey>) {
      let n = 0;
      for (const k of keys) {
        if (held.delete(ifAddrKeyId(k))) n++;
        ops.push(`delete ${ifAddrKeyId(k)}`);
      }
      return n;
    },
  };
  return { map: map as unknown as TypedMap<IfAddrKey, number>, held, ops };
}

describe('interface addresses', () => {
  it('become tctp_if_addrs keys (IPv4 in the first 4 bytes)', () => {
    const keys = addressKeys(3, [
      { family: 4, address: '10.0.0.1', prefixLength: 24 },
      { family: 6, address: 'fe80::1', prefixLength: 64 },
    ]);
    expect(keys.map(ifAddrKeyId)).toEqual(['3|2|0a000001000000000000000000000000', '3|10|fe800000000000000000000000000001']);
  });

  it('are kept in step: new ones written, gone ones deleted, unchanged ones left alone', () => {
    const { map, held, ops } = fakeMap();
    const actual = new Map<string, IfAddrKey>();
    const a = addressKeys(3, [{ family: 4, address: '10.0.0.1', prefixLength: 24 }]);
    const b = addressKeys(3, [{ family: 4, address: '10.0.0.9', prefixLength: 24 }]);
    expect(syncAddresses(map, actual, a, 1024)).toEqual({ added: 1, removed: 0, skipped: 0 });
    expect(syncAddresses(map, actual, a, 1024)).toEqual({ added: 0, removed: 0, skipped: 0 });
    expect(syncAddresses(map, actual, [...a, ...b], 1024)).toEqual({ added: 1, removed: 0, skipped: 0 });
    expect(syncAddresses(map, actual, b, 1024)).toEqual({ added: 0, removed: 1, skipped: 0 });
    expect([...held.keys()]).toEqual([...actual.keys()]);
    expect(ops).toHaveLength(3);
    // over the limit: removals first, the rest skipped
    expect(syncAddresses(map, actual, [...a, ...b], 1)).toEqual({ added: 1, removed: 1, skipped: 1 });
    expect([...held.keys()]).toEqual(a.map(ifAddrKeyId));
  });
});
