import { describe, expect, it } from 'vitest';
import { CompileCapacityError, compileRules, sameContent, type CompileRule, type DstNode } from '../src/compile-rules.js';
import { InlineContent, keptContent } from '../src/inline-content.js';
import { parseKeyPrefix, type Prefix } from '../src/key-prefix.js';

const P = (text: string): Prefix => {
  const p = parseKeyPrefix(text);
  if (!p.ok) throw p.error;
  return p.prefix;
};

function rule(id: number, dst: string, ports: [number, number], extra: Partial<CompileRule> & { src?: string } = {}): CompileRule {
  const destination = P(dst);
  const source = P(extra.src ?? (destination.family === 4 ? '0.0.0.0/0' : '::/0'));
  const { src: _src, ...rest } = extra;
  return {
    id,
    family: destination.family,
    proto: 6,
    destination,
    source,
    low: ports[0],
    high: ports[1],
    deny: false,
    dstLength: destination.length,
    srcLength: source.length,
    ...rest,
  };
}

/** A readable summary: "dst -> src: port/bits>rule ..." per node. */
function summary(nodes: readonly DstNode[]): string[] {
  return nodes
    .map((n) => `${n.proto} ${n.prefix.text} -> ${n.content.srcNodes.map((s) => `${s.prefix.text}: ${s.blocks.map((b) => `${b.port}/${b.bits}>${b.ruleId}`).join(' ')}`).join(' | ')}`)
    .sort();
}

describe('compileRules', () => {
  it('gives a dst node the rules of every shorter destination prefix containing it', () => {
    const c = compileRules([rule(1, '10.0.0.0/24', [80, 80]), rule(2, '10.0.0.5/32', [443, 443]), rule(3, '10.1.0.0/16', [22, 22])], [7]);
    expect(summary(c.byIfindex.get(7)!)).toEqual([
      '6 10.0.0.0/24 -> 0.0.0.0/0: 80/16>1',
      '6 10.0.0.5/32 -> 0.0.0.0/0: 80/16>1 443/16>2',
      '6 10.1.0.0/16 -> 0.0.0.0/0: 22/16>3',
    ]);
    expect(c.counts).toEqual({ dst: 3, src: 0, port: 0 }); // all inline
  });

  it('gives a src node the rules of every shorter source prefix of its dst node', () => {
    const c = compileRules([rule(1, '10.0.0.0/24', [80, 80]), rule(2, '10.0.0.0/24', [80, 80], { src: '192.168.0.0/16', deny: true })], [7]);
    expect(summary(c.byIfindex.get(7)!)).toEqual(['6 10.0.0.0/24 -> 0.0.0.0/0: 80/16>1 | 192.168.0.0/16: 80/16>2']);
  });

  it('lets a longer destination win over a narrower range, and keeps families and protocols apart', () => {
    const c = compileRules(
      [
        rule(1, '10.0.0.0/8', [80, 80]),
        rule(2, '10.0.0.0/24', [0, 65535], { deny: true }),
        rule(3, '10.0.0.0/24', [53, 53], { proto: 17 }),
        rule(4, 'fd00::/64', [80, 80]),
      ],
      [7],
    );
    expect(summary(c.byIfindex.get(7)!)).toEqual([
      '17 10.0.0.0/24 -> 0.0.0.0/0: 53/16>3',
      '6 10.0.0.0/24 -> 0.0.0.0/0: 0/0>2',
      '6 10.0.0.0/8 -> 0.0.0.0/0: 80/16>1',
      '6 fd00::/64 -> ::/0: 80/16>4',
    ]);
  });

  it('compiles rules with an interface list only for those interfaces, and shares the nodes of alike interfaces', () => {
    const c = compileRules([rule(1, '10.0.0.0/24', [80, 80]), rule(2, '10.0.0.0/24', [81, 81], { ifindexes: [8] })], [7, 8, 9]);
    expect(summary(c.byIfindex.get(7)!)).toEqual(['6 10.0.0.0/24 -> 0.0.0.0/0: 80/16>1']);
    expect(summary(c.byIfindex.get(8)!)).toEqual(['6 10.0.0.0/24 -> 0.0.0.0/0: 80/16>1 81/16>2']);
    expect(c.byIfindex.get(8)![0].content.srcNodes[0].blocks).toEqual([
      { port: 80, bits: 16, ruleId: 1 },
      { port: 81, bits: 16, ruleId: 2 },
    ]);
    expect(c.byIfindex.get(9)).toBe(c.byIfindex.get(7));
    expect(c.counts).toEqual({ dst: 3, src: 0, port: 0 }); // all inline
  });

  it('refuses a rule set that needs more trie entries than the limits', () => {
    const rules = [rule(1, '10.0.0.1/32', [80, 80]), rule(2, '10.0.0.2/32', [1, 65535], { src: '192.168.0.0/16' })];
    expect(() => compileRules(rules, [7, 8], { dst: 3 })).toThrow(CompileCapacityError);
    expect(() => compileRules(rules, [7], { port: 10 })).toThrow(/more than 10 entries in tctp_port/);
    expect(() => compileRules(rules, [7, 8], { src: 1 })).toThrow(/more than 1 entries in tctp_src/);
    expect(compileRules(rules, [7], { dst: 2, src: 1, port: 16 }).counts).toEqual({ dst: 2, src: 1, port: 16 });
  });

  it('writes a node inline when its only source is any and it has at most 4 port intervals', () => {
    const node = (rules: CompileRule[]) => compileRules(rules, [7]).byIfindex.get(7)!.find((n) => n.prefix.text === '10.0.0.0/24')!.content;
    const four = [rule(1, '10.0.0.0/24', [0, 9]), rule(2, '10.0.0.0/24', [5, 5], { deny: true }), rule(3, '10.0.0.0/8', [443, 443])];
    expect(node(four).inline).toEqual([
      { low: 0, high: 4, ruleId: 1 },
      { low: 5, high: 5, ruleId: 2 },
      { low: 6, high: 9, ruleId: 1 },
      { low: 443, high: 443, ruleId: 3 },
    ]);
    expect(node(four)).toMatchObject({ srcEntries: 0, portEntries: 0 });
    const five = node([...four, rule(4, '10.0.0.0/24', [8080, 8080])]);
    expect(five.inline).toBeUndefined();
    expect(five).toMatchObject({ srcEntries: 1, portEntries: 1 + 1 + 2 + 1 + 1 + 1 });
    // a restricted source needs the src trie
    const restricted = node([rule(1, '10.0.0.0/24', [80, 80], { src: '192.168.0.0/16' })]);
    expect(restricted.inline).toBeUndefined();
    expect(restricted).toMatchObject({ srcEntries: 1, portEntries: 1 });
  });

  it('compares contents by their src prefixes, blocks and rule ids', () => {
    const a = compileRules([rule(1, '10.0.0.0/24', [80, 80])], [7]).byIfindex.get(7)![0].content;
    const b = compileRules([rule(1, '10.0.0.0/24', [80, 80])], [7]).byIfindex.get(7)![0].content;
    const c = compileRules([rule(2, '10.0.0.0/24', [80, 80])], [7]).byIfindex.get(7)![0].content;
    expect(sameContent(a, b)).toBe(true);
    expect(sameContent(a, c)).toBe(false);
    expect(sameContent(a, { ...a, inconsistent: true })).toBe(false);
  });

  it('keeps an inline content as its intervals only, still equal to the content it was compiled as', () => {
    const content = (rules: CompileRule[]) => compileRules(rules, [7]).byIfindex.get(7)!.find((n) => n.prefix.text === '10.0.0.0/24')!.content;
    const full = content([rule(1, '10.0.0.0/24', [80, 90]), rule(2, '10.0.0.0/24', [85, 85], { deny: true })]);
    const kept = keptContent(full);
    expect(kept).toBeInstanceOf(InlineContent);
    expect({ srcNodes: kept.srcNodes, srcEntries: kept.srcEntries, portEntries: kept.portEntries, inline: kept.inline }).toEqual({
      srcNodes: [],
      srcEntries: 0,
      portEntries: 0,
      inline: full.inline,
    });
    expect(full.inline).toHaveLength(3);
    expect(sameContent(kept, keptContent(full))).toBe(true);
    expect(sameContent(kept, full)).toBe(true);
    expect(sameContent(full, kept)).toBe(true);
    expect(keptContent(kept)).toBe(kept);
    // other intervals, or another rule id: another content
    expect(sameContent(kept, content([rule(1, '10.0.0.0/24', [80, 90])]))).toBe(false);
    expect(sameContent(kept, content([rule(1, '10.0.0.0/24', [80, 90]), rule(3, '10.0.0.0/24', [85, 85], { deny: true })]))).toBe(false);
    // an inline content is never equal to one with src and port entries
    const restricted = content([rule(1, '10.0.0.0/24', [80, 90], { src: '192.168.0.0/16' })]);
    expect(keptContent(restricted)).toBe(restricted);
    expect(sameContent(kept, restricted)).toBe(false);
    expect(sameContent(restricted, kept)).toBe(false);
    expect(sameContent(kept, { ...full, inconsistent: true })).toBe(false);
    // one interval
    const one = content([rule(1, '10.0.0.0/24', [80, 90])]);
    expect(keptContent(one).inline).toEqual([{ low: 80, high: 90, ruleId: 1 }]);
    expect(sameContent(keptContent(one), one)).toBe(true);
    expect(sameContent(keptContent(one), kept)).toBe(false);
  });
});
