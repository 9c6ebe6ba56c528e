/**
 * The fast path of the body validation only ever accepts what the zod schemas accept, with the
 * same output: checked on random valid bodies, near misses and junk (after a JSON round trip, as
 * the API sees them).
 */
import fc from 'fast-check';
import { describe, expect, it, test } from 'vitest';
import type { ZodType } from 'zod';
import { TimeSlicer } from '@bpfsteer/agent-kernel';
import { batchBodyConverter, checkBatch, isValidBatch, isValidRuleInput, isValidSelectorInput, normalisedBatch, NotAFastBatch } from '../src/api/fast-validation.js';
import { parseJsonInSlices } from '../src/parse-json-in-slices.js';
import { batchSchema, ruleInputSchema, selectorInputSchema } from '../src/api/schemas.js';
import { batchish, ruleish, selectorish, validRule, validSelector, weird } from './api-arbitraries.js';

const asJson = (v: unknown): unknown => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

function agrees(fast: (v: unknown) => boolean, schema: ZodType, value: unknown): boolean {
  const input = asJson(value);
  if (!fast(input)) return false;
  const parsed = schema.safeParse(input);
  expect(parsed.success, `fast path accepted what zod refuses: ${JSON.stringify(input)}: ${parsed.error?.message}`).toBe(true);
  expect(parsed.data).toEqual(input);
  return true;
}

describe.each([
  ['rule', isValidRuleInput, ruleInputSchema, ruleish, validRule],
  ['selector', isValidSelectorInput, selectorInputSchema, selectorish, validSelector],
] as const)('%s bodies', (_name, fast, schema, bodies, valid) => {
  test('accepted by the fast path => accepted by zod with the same output', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(bodies, weird), (body) => {
        if (agrees(fast, schema, body)) accepted++;
      }),
      { numRuns: 5000 },
    );
    expect(accepted).toBeGreaterThan(500);
  });

  test('every valid body takes the fast path', () => {
    fc.assert(
      fc.property(valid, (body) => {
        expect(fast(asJson(body)), JSON.stringify(body)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});

test('batches: accepted by the fast path => accepted by zod with the same output', () => {
  let accepted = 0;
  fc.assert(
    fc.property(batchish, (body) => {
      if (agrees(isValidBatch, batchSchema, body)) accepted++;
    }),
    { numRuns: 5000 },
  );
  expect(accepted).toBeGreaterThan(100);
});

test.each([
  ['an empty batch', { operations: [] }],
  ['an unknown op', { operations: [{ op: 'upsert', rule: { destination: '10.0.0.1', protocol: 'tcp', ports: { low: 1 } } }] }],
  ['an extra key', { operations: [{ op: 'delete', rule: { destination: '10.0.0.1', protocol: 'tcp', ports: { low: 1 } } }], x: 1 }],
  ['a rule with a bad CIDR', { operations: [{ op: 'insert', rule: { destination: '10.0.0.300', protocol: 'tcp', ports: { low: 1 } } }] }],
  ['a rule with a long CIDR', { operations: [{ op: 'insert', rule: { destination: `10.0.0.1/${'0'.repeat(70)}`, protocol: 'tcp', ports: { low: 1 } } }] }],
  ['a selector with a value field', { operations: [{ op: 'delete', rule: { destination: '10.0.0.1', protocol: 'tcp', ports: { low: 1 }, action: 'pass' } }] }],
])('the fast path leaves %s to zod', (_name, body) => {
  expect(isValidBatch(body)).toBe(false);
});

describe('batchBodyConverter (a large batch checked while it is parsed)', () => {
  const body = (n: number, edit: (ops: unknown[]) => unknown = (ops) => ({ operations: ops })) =>
    JSON.stringify(
      edit(
        Array.from({ length: n }, (_, i) => {
          const rule = { destination: `10.7.${(i >> 8) & 255}.${i & 255}/32`, protocol: 'udp', ports: { low: 53 } };
          return i % 3 === 2 ? { op: 'delete', rule } : { op: 'insert', rule: { ...rule, tproxyPort: 15000 } };
        }),
      ),
    );
  const tiny = { whole: 8, piece: 256 };

  it('makes what checkBatch makes of the parsed body, group by group, and the fast path knows the body', async () => {
    const text = body(200);
    const converter = batchBodyConverter();
    const parsed = await parseJsonInSlices(text, new TimeSlicer(), JSON.parse, tiny, converter.convert);
    expect(converter.converted).toBe(200);
    expect(converter.accept(parsed)).toBe(true);
    expect(normalisedBatch(parsed as object)).toEqual(checkBatch(JSON.parse(text)));
    // the same text parsed again whole (as after a split that failed): not the operations it made
    const again = batchBodyConverter();
    await parseJsonInSlices(text, new TimeSlicer(), JSON.parse, tiny, again.convert);
    const raw = JSON.parse(text) as object;
    expect(again.accept(raw)).toBe(false);
    expect(normalisedBatch(raw)).toBeUndefined();
  });

  it('refuses at the first operation the fast path refuses, a member besides the operations, or a converted count that does not add up', async () => {
    for (const text of [
      body(200, (ops) => ({ operations: [...ops.slice(0, 150), { op: 'insert', rule: { destination: 'nope' } }, ...ops.slice(150)] })),
      body(200, (ops) => ({ dryRun: [true], operations: ops })),
    ]) {
      const converter = batchBodyConverter();
      await expect(parseJsonInSlices(text, new TimeSlicer(), JSON.parse, tiny, converter.convert)).rejects.toBeInstanceOf(NotAFastBatch);
    }
    const converter = batchBodyConverter();
    const parsed = await parseJsonInSlices(body(200, (ops) => ({ operations: ops, extra: 1 })), new TimeSlicer(), JSON.parse, tiny, converter.convert);
    expect(converter.accept(parsed)).toBe(false); // a scalar member besides the operations
    expect(normalisedBatch(parsed as object)).toBeUndefined();
    const twice = batchBodyConverter();
    const dup = await parseJsonInSlices(`{"operations":${body(100, (ops) => ops)},"operations":${body(100, (ops) => ops)}}`, new TimeSlicer(), JSON.parse, tiny, twice.convert);
    expect(twice.accept(dup)).toBe(false); // 200 converted, 100 kept (the last member wins, as in JSON.parse)
  });
});
