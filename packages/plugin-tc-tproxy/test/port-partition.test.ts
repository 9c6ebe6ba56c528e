import { describe, expect, it } from 'vitest';
import { comparePrecedence, partitionPorts, portBlocks, pushBlocks, type PartitionRule, type PortBlock } from '../src/port-partition.js';

const rule = (id: number, low: number, high: number, extra: Partial<PartitionRule> = {}): PartitionRule => ({
  id,
  low,
  high,
  dstLength: 32,
  srcLength: 0,
  deny: false,
  ...extra,
});

const blocks = (low: number, high: number): Array<[number, number]> => {
  const out: PortBlock[] = [];
  pushBlocks(out, low, high, 1);
  return out.map((b) => [b.port, b.bits]);
};

describe('pushBlocks', () => {
  it.each([
    [80, 80, [[80, 16]]],
    [0, 65535, [[0, 0]]],
    [0, 0, [[0, 16]]],
    [65535, 65535, [[65535, 16]]],
    [1024, 2047, [[1024, 6]]],
    [1, 65535, [[1, 16], [2, 15], [4, 14], [8, 13], [16, 12], [32, 11], [64, 10], [128, 9], [256, 8], [512, 7], [1024, 6], [2048, 5], [4096, 4], [8192, 3], [16384, 2], [32768, 1]]],
    [0, 65534, [[0, 1], [32768, 2], [49152, 3], [57344, 4], [61440, 5], [63488, 6], [64512, 7], [65024, 8], [65280, 9], [65408, 10], [65472, 11], [65504, 12], [65520, 13], [65528, 14], [65532, 15], [65534, 16]]],
    [8080, 8090, [[8080, 13], [8088, 15], [8090, 16]]],
  ] as Array<[number, number, Array<[number, number]>]>)('[%i, %i]', (low, high, expected) => {
    expect(blocks(low, high)).toEqual(expected);
  });

  it('covers exactly the range with disjoint aligned blocks, for every range of a sample', () => {
    for (let low = 0; low < 70; low++) {
      for (const high of [low, low + 1, low + 7, low + 63, low + 1000, 65535]) {
        let next = low;
        for (const [port, bits] of blocks(low, Math.min(high, 65535))) {
          const size = 2 ** (16 - bits);
          expect(port).toBe(next);
          expect(port % size).toBe(0);
          next = port + size;
        }
        expect(next).toBe(Math.min(high, 65535) + 1);
      }
    }
  });
});

describe('partitionPorts', () => {
  it('gives each port its winner and leaves gaps out', () => {
    expect(partitionPorts([])).toEqual([]);
    expect(partitionPorts([rule(1, 80, 90)])).toEqual([{ low: 80, high: 90, ruleId: 1 }]);
    // narrower range wins inside the wider one; the wider one keeps both sides
    expect(partitionPorts([rule(1, 0, 1000), rule(2, 80, 80)])).toEqual([
      { low: 0, high: 79, ruleId: 1 },
      { low: 80, high: 80, ruleId: 2 },
      { low: 81, high: 1000, ruleId: 1 },
    ]);
    // same low port, different highs: both kept
    expect(partitionPorts([rule(1, 3000, 3010), rule(2, 3000, 3000)])).toEqual([
      { low: 3000, high: 3000, ruleId: 2 },
      { low: 3001, high: 3010, ruleId: 1 },
    ]);
    // disjoint ranges with a gap
    expect(partitionPorts([rule(1, 10, 20), rule(2, 30, 40)])).toEqual([
      { low: 10, high: 20, ruleId: 1 },
      { low: 30, high: 40, ruleId: 2 },
    ]);
  });

  it('applies the precedence: longer destination, longer source, narrower range, deny, lower range', () => {
    expect(partitionPorts([rule(1, 80, 80, { dstLength: 24 }), rule(2, 0, 65535, { dstLength: 32 })])).toEqual([{ low: 0, high: 65535, ruleId: 2 }]);
    expect(partitionPorts([rule(1, 80, 80, { srcLength: 8 }), rule(2, 0, 65535, { srcLength: 16 })])).toEqual([{ low: 0, high: 65535, ruleId: 2 }]);
    expect(partitionPorts([rule(1, 80, 89), rule(2, 85, 94, { deny: true })])).toEqual([
      { low: 80, high: 84, ruleId: 1 },
      { low: 85, high: 94, ruleId: 2 },
    ]);
    expect(partitionPorts([rule(1, 80, 89), rule(2, 85, 94)])).toEqual([
      { low: 80, high: 89, ruleId: 1 },
      { low: 90, high: 94, ruleId: 2 },
    ]);
  });

  it('merges neighbouring intervals of one winner', () => {
    // rule 2 covers the middle of rule 1 but loses there (shorter destination): one interval
    expect(partitionPorts([rule(1, 0, 100), rule(2, 40, 60, { dstLength: 8 })])).toEqual([{ low: 0, high: 100, ruleId: 1 }]);
  });

  it('orders rules totally', () => {
    const rules = [rule(1, 80, 89), rule(2, 85, 94, { deny: true }), rule(3, 80, 80), rule(4, 0, 65535, { dstLength: 31 })];
    const sorted = [...rules].sort(comparePrecedence).map((r) => r.id);
    expect(sorted).toEqual([3, 2, 1, 4]);
    expect(portBlocks([rule(7, 80, 81)])).toEqual([{ port: 80, bits: 15, ruleId: 7 }]);
  });
});
