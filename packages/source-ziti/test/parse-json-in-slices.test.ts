import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { TimeSlicer } from '@bpfsteer/agent-kernel';
import { parseJsonInSlices, SLICE_PARSE_MIN } from '../src/parse-json-in-slices.js';

/** Cut everything (texts over 8 characters, pieces of 16): every path of the split runs on small texts. */
const tiny = { whole: 8, piece: 16 };

/** A slicer that yields at every pause: counts the pause points. */
const eager = (): TimeSlicer => new TimeSlicer(0);

function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (err) {
    return (err as Error).message;
  }
  return 'no error';
}

/** `text` cut at the given positions (modulo its length). */
function chunksOf(text: string, cuts: readonly number[]): string[] {
  const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  return [...at, text.length].map((end, i) => text.slice(i === 0 ? 0 : at[i - 1], end));
}

async function slicedError(text: string | string[]): Promise<string> {
  try {
    await parseJsonInSlices(text, eager(), JSON.parse, tiny);
  } catch (err) {
    return (err as Error).message;
  }
  return 'no error';
}

/** JSON text with random JSON white space between the tokens (outside strings). */
const spaced = (value: unknown, spaces: string[]): string => {
  let k = 0;
  return JSON.stringify(value).replace(/([,:[\]{}])(?=(?:[^"\\]|\\.|"(?:[^"\\]|\\.)*")*$)/g, (m) => `${spaces[k++ % spaces.length]}${m}${spaces[k++ % spaces.length]}`);
};

describe('parseJsonInSlices', () => {
  test('gives exactly what JSON.parse gives, for any object or array', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.array(fc.jsonValue({ maxDepth: 4 })), fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 4 }))),
        fc.array(fc.constantFrom('', ' ', '\n', '\t', '\r\n  '), { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        async (value, spaces, cuts) => {
          for (const text of [JSON.stringify(value), spaced(value, spaces)]) {
            expect(await parseJsonInSlices(text, eager(), JSON.parse, tiny)).toStrictEqual(JSON.parse(text));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  test('a text JSON.parse refuses throws JSON.parse\'s own error (the whole text is parsed for it)', async () => {
    const valid = JSON.stringify({ operations: Array.from({ length: 20 }, (_, i) => ({ op: 'insert', rule: { n: i, s: `a,"b]${i}` } })) });
    const broken = [
      `${valid.slice(0, -1)},}`, // trailing comma in the object
      valid.replace(']}', ',]}'), // trailing comma in the array
      valid.replace('},{', '},,{'), // an empty element
      valid.replace('"op"', 'op'), // a key without quotes
      valid.slice(0, -2), // cut short
      `${valid} {}`, // something after the value
      valid.replace('[', '[}'), // brackets that do not match
      `[1,2,3,${'4,'.repeat(10)}]`,
      `{"a":1,"b":[1,2,3,4,5,6,7,8,9],"c" 2}`,
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...broken), fc.nat(), fc.nat(255), async (text, at, code) => {
        const mutated = `${text.slice(0, at % text.length)}${String.fromCharCode(code)}${text.slice((at % text.length) + 1)}`;
        for (const t of [text, mutated]) {
          expect(await slicedError(t)).toBe(jsonError(t));
          expect(await slicedError(chunksOf(t, [at, code]))).toBe(jsonError(t));
        }
      }),
      { numRuns: 300 },
    );
  });

  test('a large text yields to the event loop between pieces', async () => {
    const value = { operations: Array.from({ length: 8000 }, (_, i) => ({ op: 'insert', rule: { destination: `10.0.${i >> 8}.${i & 255}/32` } })) };
    const text = JSON.stringify(value);
    expect(text.length).toBeGreaterThan(SLICE_PARSE_MIN);
    const slicer = eager();
    expect(await parseJsonInSlices(text, slicer)).toStrictEqual(value); // the default sizes: pieces of 64 KiB
    expect(slicer.yields).toBeGreaterThanOrEqual(Math.floor(text.length / (64 * 1024)));
  });

  // the separator learnt between two elements (`},{`) also occurs inside strings and nested lists:
  // a guess there must never give anything but JSON.parse's result (or its error)
  const tricky = fc.record({
    op: fc.constantFrom('insert', 'delete'),
    s: fc.constantFrom('},{', '"},{"', '\\', '\\"},{', ']],[[', 'x', '},\n{'),
    nested: fc.array(fc.record({ a: fc.constantFrom('},{', '', ']'), b: fc.array(fc.nat(9), { maxLength: 3 }) }), { maxLength: 3 }),
    n: fc.integer(),
  });

  test('arrays of objects whose separator also occurs in strings and nested lists: exactly JSON.parse', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(tricky, { minLength: 1, maxLength: 60 }),
        fc.boolean(),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 6 }),
        async (elements, wrapped, pretty, cuts) => {
          const value = wrapped ? { operations: elements, tail: [1, 2] } : elements;
          const text = pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value);
          const expected = JSON.parse(text) as unknown;
          for (const sizes of [tiny, { whole: 8, piece: 200 }]) {
            expect(await parseJsonInSlices(text, eager(), JSON.parse, sizes)).toStrictEqual(expected);
            expect(await parseJsonInSlices(chunksOf(text, cuts), eager(), JSON.parse, sizes)).toStrictEqual(expected);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  test('an element broken after the separator was learnt: JSON.parse\'s own error', async () => {
    const text = JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ i, s: 'a},{b' })));
    for (const broken of [text.replace('{"i":150', '{"i"150'), text.replace('"s":"a},{b"}', '"s":"a},{b"'), `${text.slice(0, -1)},]`]) {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.nat(), { maxLength: 4 }), async (cuts) => {
          expect(await slicedError(chunksOf(broken, cuts))).toBe(jsonError(broken));
          expect(await slicedError(broken)).toBe(jsonError(broken));
        }),
        { numRuns: 30 },
      );
    }
  });

  test('a "__proto__" key is an own property, as JSON.parse makes it', async () => {
    const text = `{"__proto__":{"polluted":true},"list":[1,2,3,4,5,6,7,8,9,10]}`;
    const parsed = (await parseJsonInSlices(text, eager(), JSON.parse, tiny)) as Record<string, unknown>;
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(Object.keys(parsed)).toEqual(['__proto__', 'list']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(parsed).toStrictEqual(JSON.parse(text));
  });
});

describe('converting groups of elements while they are parsed', () => {
  test('each group of a top member array is converted, named by its member; the result is JSON.parse of the text, converted', async () => {
    const value = { operations: Array.from({ length: 40 }, (_, i) => ({ n: i, s: `x${i}` })), other: [1, 2, 3], nested: { list: [{ a: 1 }] } };
    const members: (string | undefined)[] = [];
    const groups: number[] = [];
    const convert = (group: unknown[], member: string | undefined) => {
      members.push(member);
      groups.push(group.length);
      return member === 'operations' ? group.map((e) => (e as { n: number }).n) : group;
    };
    const parsed = await parseJsonInSlices(JSON.stringify(value), eager(), JSON.parse, tiny, convert);
    expect(parsed).toEqual({ ...value, operations: value.operations.map((o) => o.n) });
    expect(groups.length).toBeGreaterThan(2); // in several groups
    expect(groups.reduce((a, b) => a + b, 0)).toBe(40 + 3); // the nested object's array is not a top member's
    expect(new Set(members)).toEqual(new Set(['operations', 'other']));
    const top = await parseJsonInSlices(JSON.stringify([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), eager(), JSON.parse, tiny, (group, member) => {
      expect(member).toBeUndefined();
      return group.map((n) => (n as number) * 2);
    });
    expect(top).toEqual([2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
  });

  test('a converter that throws rejects the parse with its error; a text parsed whole is not converted', async () => {
    const text = JSON.stringify({ operations: Array.from({ length: 40 }, (_, i) => i) });
    await expect(
      parseJsonInSlices(text, eager(), JSON.parse, tiny, () => {
        throw new RangeError('refused');
      }),
    ).rejects.toThrow('refused');
    let calls = 0;
    expect(await parseJsonInSlices(text, eager(), JSON.parse, undefined, () => (calls++, []))).toEqual(JSON.parse(text));
    expect(calls).toBe(0);
  });
});
