/** The rules as trie entries: which range decides, in which order, and what is refused. */
import { describe, expect, it } from 'vitest';
import { compileRules } from '../src/compile-rules.js';

const ranges = (entries: ReturnType<typeof compileRules>, key: string) =>
  entries.get(key)!.ranges.map((r) => `${r.portLo}-${r.portHi} ${r.action ? 'redirect' : 'direct'} #${r.rule}`);

describe('compileRules', () => {
  it('one entry per prefix (IPv4 mapped, /96+n), holding the ranges of the prefixes that contain it, longest first', () => {
    const entries = compileRules([
      { destination: '10.0.0.0/8' },
      { destination: '10.1.0.0/16', direct: true },
      { destination: '10.1.2.3', ports: ['80', '8000-8100'] },
      { destination: 'fd00::/64', ports: [443] },
    ]);
    expect([...entries.keys()]).toEqual(['::ffff:10.0.0.0/104', '::ffff:10.1.0.0/112', '::ffff:10.1.2.3/128', 'fd00::/64']);
    expect(ranges(entries, '::ffff:10.0.0.0/104')).toEqual(['1-65535 redirect #0']);
    // the exclusion of 10.1/16 first, then the /8 it is in
    expect(ranges(entries, '::ffff:10.1.0.0/112')).toEqual(['1-65535 direct #1', '1-65535 redirect #0']);
    // the host rule's ports first: port 80 is redirected although 10.1/16 is excluded
    expect(ranges(entries, '::ffff:10.1.2.3/128')).toEqual(['80-80 redirect #2', '8000-8100 redirect #2', '1-65535 direct #1', '1-65535 redirect #0']);
    expect(ranges(entries, 'fd00::/64')).toEqual(['443-443 redirect #3']);
  });

  it('at one prefix a direct rule comes before a redirecting one, whatever their order', () => {
    const entries = compileRules([{ destination: '192.0.2.0/24' }, { destination: '192.0.2.0/24', ports: ['22'], direct: true }]);
    expect(ranges(entries, '::ffff:192.0.2.0/120')).toEqual(['22-22 direct #1', '1-65535 redirect #0']);
  });

  it('refuses bad rules naming each, and too many ranges for one prefix', () => {
    expect(() => compileRules([{ destination: '10.0.0.1/8' }, { destination: '10.0.0.0/8', ports: ['99999'] }])).toThrow(
      /rule 0: .*host bits.*; rule 1: port "99999"/,
    );
    const many = Array.from({ length: 17 }, (_, i) => ({ destination: '10.0.0.0/8', ports: [1000 + i] }));
    expect(() => compileRules(many)).toThrow(/10\.0\.0\.0\/8 is covered by 17 port ranges .* at most 16/);
  });
});
