/**
 * Property tests of the diverter's argument parser: random and malformed argument vectors never
 * throw; each gives a usage error with a message, or a request the API accepts unchanged
 * (the CLI's normalisation agrees with the server's).
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { interfaceNameSchema, interfaceSettingsSchema, ruleInputSchema, selectorInputSchema } from '../src/api/schemas.js';
import { parseDiverterArgs, scansForTest, type InvokedAs } from '../src/diverter/parse-diverter-args.js';
import { toRule, toSelector } from '../src/rule-input.js';

const flags = [
  '-V', '-I', '-D', '-L', '-F', '-M', '-c', '-m', '-o', '-n', '-l', '-h', '-t', '-p', '-N', '-s', '-d', '-e', '-x', '-i', '-f', '-E',
  '--json', '--socket', '--url', '--token-file', '--help', '--insert', '--delete', '--list', '--cidr-block', '--low-port', '--', '-',
  '-Il', '-LE', '-Q', '--bogus', '--json=1',
];
const values = [
  '10.0.0.16', '10.0.0.17', '0.0.0.0', 'fd00::1', '::', '256.0.0.1', '28', '0', '32', '33', '128', '-1', '22', '65535', '65536',
  'tcp', 'udp', 'TCP', 'icmp', '6', '17', 'eth0', 'lo', 'a/b', 'x'.repeat(16), '/run/x.sock', 'http://127.0.0.1:7000', 'svc', '', ' ',
];
const token = fc.oneof(fc.constantFrom(...flags), fc.constantFrom(...values), fc.string({ maxLength: 12 }), fc.integer({ min: -10, max: 70000 }).map(String));
const argv = fc.array(token, { maxLength: 24 });

/** Well-formed invocations with one token possibly replaced. */
const insertArgv = fc
  .record({
    c: fc.oneof(fc.ipV4(), fc.ipV6()),
    m: fc.integer({ min: 0, max: 140 }),
    p: fc.constantFrom('tcp', 'udp', 'icmp'),
    l: fc.integer({ min: 0, max: 65540 }),
    h: fc.integer({ min: 0, max: 65540 }),
    t: fc.integer({ min: 0, max: 65540 }),
    s: fc.string({ maxLength: 8 }),
    n: fc.array(fc.constantFrom('eth0', 'lo', 'bad/name'), { maxLength: 3 }),
    cmd: fc.constantFrom('-I', '-D'),
  })
  .map((r) => [r.cmd, '-c', r.c, '-m', String(r.m), '-p', r.p, '-l', String(r.l), '-h', String(r.h), ...(r.cmd === '-I' ? ['-t', String(r.t), '-s', r.s] : []), ...r.n.flatMap((n) => ['-N', n])]);
const mutated = fc.tuple(insertArgv, fc.nat(), token).map(([args, i, t]) => args.map((a, j) => (j === i % args.length ? t : a)));

const positional = fc.tuple(fc.constantFrom<InvokedAs>('map_update', 'map_delete'), fc.array(fc.oneof(fc.constantFrom(...values), fc.nat(70000).map(String)), { maxLength: 7 }));

function checkParsed(args: string[], as: InvokedAs): void {
  const parsed = parseDiverterArgs(args, { invokedAs: as, env: {} });
  if (!parsed.ok) {
    expect(parsed.error.length).toBeGreaterThan(5);
    return;
  }
  const { request } = parsed;
  if (request.command === 'insert') {
    const schema = ruleInputSchema.safeParse(request.body);
    expect(schema.success, `${args.join(' ')} -> ${JSON.stringify(request.body)}: ${schema.error?.message}`).toBe(true);
    const rule = toRule(request.body);
    expect(rule.ok && rule.value.destination).toBe(request.body.destination);
    expect(rule.ok && rule.value.source).toBe(request.body.source);
  } else if (request.command === 'delete') {
    const schema = selectorInputSchema.safeParse(request.body);
    expect(schema.success, `${args.join(' ')} -> ${JSON.stringify(request.body)}`).toBe(true);
    const selector = toSelector(request.body);
    expect(selector.ok && selector.value.destination).toBe(request.body.destination);
  } else if (request.command === 'set-interface') {
    expect(interfaceNameSchema.safeParse(request.name).success).toBe(true);
    expect(interfaceSettingsSchema.safeParse(request.settings).success).toBe(true);
  }
}

describe('parseDiverterArgs never throws and hands the API only what it accepts', () => {
  test.each<InvokedAs>(['bpfsteer-diverter', 'map_update', 'map_delete'])('random argv as %s', (as) => {
    fc.assert(fc.property(argv, (args) => checkParsed(args, as)), { numRuns: 3000 });
  });

  test('well-formed -I/-D with one token replaced', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(insertArgv, mutated), (args) => {
        checkParsed(args, 'bpfsteer-diverter');
        if (parseDiverterArgs(args, { invokedAs: 'bpfsteer-diverter' }).ok) accepted++;
      }),
      { numRuns: 3000 },
    );
    expect(accepted).toBeGreaterThan(100);
  });

  test('positional map_update / map_delete', () => {
    fc.assert(fc.property(positional, ([as, args]) => checkParsed(args, as)), { numRuns: 3000 });
  });
});

describe('the plain scan (no parseArgs) reads what parseArgs reads', () => {
  const scanned = (scan: () => unknown) => {
    try {
      const r = scan() as { values: object; positionals: string[]; counts: Map<string, number> };
      return { values: { ...r.values }, positionals: r.positionals, counts: [...r.counts].sort() };
    } catch (err) {
      return { error: (err as Error).message };
    }
  };
  test.each([
    ['a router insert', '-I -c 10.0.0.16 -m 28 -p tcp -o 0.0.0.0 -n 0 -l 22 -h 22 -t 33381 -s svc -N eth0 -N lo'],
    ['long options', '--insert --cidr-block 10.0.0.1 --protocol udp --low-port 53 --tproxy-port 0 --json'],
    ['positionals', '172.16.240.0 24 5060 5060 58997 17'],
  ])('%s', (_name, text) => {
    const args = text.split(' ');
    expect(scansForTest.plain(args)).toBeDefined();
    expect(scanned(() => scansForTest.plain(args))).toEqual(scanned(() => scansForTest.parseArgs(args)));
  });

  test('on random vectors: where it reads them, the same values, positionals and counts', () => {
    fc.assert(
      fc.property(fc.oneof(argv, insertArgv, mutated), (args) => {
        if (scansForTest.plain(args) === undefined) return; // left to parseArgs
        expect(scanned(() => scansForTest.plain(args))).toEqual(scanned(() => scansForTest.parseArgs(args)));
      }),
      { numRuns: 3000 },
    );
  });
});
