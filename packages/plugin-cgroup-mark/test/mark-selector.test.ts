import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@bpfsteer/core-bpf';
import { formatMark, MARK_PRESETS, markMatches, parseMarkNumber, resolveMark, type MarkSpec } from '../src/mark-selector.js';

describe('resolveMark', () => {
  it.each<[MarkSpec, { value: number; mask: number }]>([
    ['ambient-inpod', { value: 0x539, mask: 0xfff }],
    ['ambient-legacy-connskip', { value: 0x220, mask: 0x220 }],
    ['ambient-legacy-skip', { value: 0x200, mask: 0x200 }],
    ['0x539/0xfff', { value: 0x539, mask: 0xfff }],
    ['1337/4095', { value: 1337, mask: 4095 }],
    ['0x40', { value: 0x40, mask: 0xffffffff }],
    [' 0x111 / 0xfff ', { value: 0x111, mask: 0xfff }],
    [{ value: 0x539, mask: 0xfff }, { value: 0x539, mask: 0xfff }],
    [{ value: '0x210', mask: '0x210' }, { value: 0x210, mask: 0x210 }],
    [{ value: 7 }, { value: 7, mask: 0xffffffff }],
    [{ value: 0, mask: 0x200 }, { value: 0, mask: 0x200 }],
    ['0xffffffff/0xffffffff', { value: 0xffffffff, mask: 0xffffffff }],
  ])('%j', (spec, expected) => {
    expect(resolveMark(spec)).toEqual(expected);
  });

  it.each<[unknown, RegExp]>([
    ['ambient-nope', /expected a preset \(ambient-inpod, ambient-legacy-connskip, ambient-legacy-skip\), "value\/mask"/],
    ['0x539/0xfff/1', /expected a preset/],
    ['/0xfff', /expected a preset/],
    ['0x1539/0xfff', /bits outside mask 0xfff.*value & mask \(0x539\)/],
    ['5/0', /mask 0 would match every packet/],
    ['0x100000000', /not a 32-bit mark/],
    [{ value: -1 }, /not a 32-bit mark/],
    [{ value: 1.5 }, /not a 32-bit mark/],
    [{ value: '12abc' }, /not a 32-bit mark/],
    [{ mask: 1 }, /expected a preset/],
    [null, /expected a preset/],
    [42, /expected a preset/],
  ])('rejects %j', (spec, why) => {
    expect(() => resolveMark(spec as MarkSpec)).toThrow(InvalidArgumentError);
    expect(() => resolveMark(spec as MarkSpec)).toThrow(why);
  });

  it('returns copies of the presets', () => {
    const m = resolveMark('ambient-inpod') as { value: number };
    m.value = 1;
    expect(MARK_PRESETS['ambient-inpod'].value).toBe(0x539);
  });
});

describe('markMatches (what the program tests)', () => {
  const inpod = resolveMark('ambient-inpod');
  const connskip = resolveMark('ambient-legacy-connskip');
  it.each([
    [inpod, 0x539, true],
    [inpod, 0x1539, true], // bits above the mask are ignored
    [inpod, 0x538, false],
    [inpod, 0, false],
    [inpod, 0x111, false], // the tproxy mark
    [connskip, 0x220, true],
    [connskip, 0x221, true],
    [connskip, 0x200, false], // skip bit alone
    [connskip, 0x020, false],
    [resolveMark('0xffffffff/0xffffffff'), 0xffffffff, true],
  ])('%j vs mark %i -> %s', (match, mark, expected) => {
    expect(markMatches(match, mark)).toBe(expected);
  });
});

describe('parseMarkNumber / formatMark', () => {
  it('parses integers and text', () => {
    expect(parseMarkNumber(0, 'm')).toBe(0);
    expect(parseMarkNumber('0XFF', 'm')).toBe(255);
    expect(parseMarkNumber('4294967295', 'm')).toBe(0xffffffff);
  });
  it('formats value/mask in hex', () => {
    expect(formatMark({ value: 0x539, mask: 0xfff })).toBe('0x539/0xfff');
  });
});
