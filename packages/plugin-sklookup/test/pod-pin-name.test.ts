import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@bpfsteer/core-bpf';
import { MAX_PIN_NAME, checkUid, decodeUid, encodeUid, parsePinName, pinName } from '../src/pod-pin-name.js';

describe('pod pin names', () => {
  it.each([
    ['3f2a9c1e-8b7d-4c2a-9e1f-0a1b2c3d4e5f', 'pod-7-3f2a9c1e-8b7d-4c2a-9e1f-0a1b2c3d4e5f'],
    ['Kubernetes//Pod/default/web-1', 'pod-7-Kubernetes%2F%2FPod%2Fdefault%2Fweb-1'],
    ['ns.name', 'pod-7-ns%2Ename'], // bpffs refuses '.'
    ['a%b', 'pod-7-a%25b'],
    ['pod ü', 'pod-7-pod%20%C3%BC'],
  ])('%j <-> %s', (uid, name) => {
    expect(pinName(uid, 7)).toBe(name);
    expect(parsePinName(name)).toEqual({ uid, slot: 7 });
  });
  it.each([
    ['egress-eth0'],
    ['pod-0-x'], // slot 0 is never a pod's
    ['pod-123456-x'],
    ['pod-3-'],
    ['pod-3-a.b'],
    ['pod-3-%41'], // not the canonical spelling of "A"
    ['pod-3-%zz'],
    ['pod-03-x'],
  ])('%s is not ours', (name) => {
    expect(parsePinName(name)).toBeUndefined();
  });
  it('encodes only what must be', () => {
    expect(encodeUid('Az09_-')).toBe('Az09_-');
    expect(decodeUid('%C3')).toBeUndefined(); // half a UTF-8 character
  });
  it('checks uids', () => {
    expect(() => checkUid('ok')).not.toThrow();
    expect(() => checkUid('')).toThrow(InvalidArgumentError);
    expect(() => checkUid('a\nb')).toThrow(/control characters/);
    expect(() => checkUid('x'.repeat(229))).not.toThrow();
    expect(() => checkUid('x'.repeat(MAX_PIN_NAME))).toThrow(/too long: its pin name would have/);
    expect(() => checkUid('/'.repeat(80))).toThrow(/too long/);
  });
});
