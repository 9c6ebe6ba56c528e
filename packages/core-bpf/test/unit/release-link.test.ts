import { describe, expect, it } from 'vitest';
import type { Link } from '../../src/link.js';
import { keepsLink, releaseLink } from '../../src/release-link.js';

function fakeLink(adopted: boolean): Link & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    type: 'tcx-ingress',
    target: 'eth0',
    adopted,
    pin: () => calls.push('pin'),
    unpin: () => calls.push('unpin'),
    update: () => calls.push('update'),
    close: () => calls.push('close'),
    detach: () => calls.push('detach'),
    [Symbol.dispose]: () => calls.push('dispose'),
  } as Link & { calls: string[] };
}

describe('releaseLink', () => {
  it.each([
    [{ keepPinned: true }, false, 'close'],
    [{ keepPinned: true }, true, 'close'],
    [{ keepPinned: false }, true, 'detach'],
    [{ keepPinned: false, discardNew: true }, true, 'detach'],
    [{ keepPinned: true, discardNew: true }, true, 'close'],
    [{ keepPinned: true, discardNew: true }, false, 'detach'],
  ] as const)('%j, adopted %s: %s', (options, adopted, call) => {
    const link = fakeLink(adopted);
    expect(keepsLink(link, options)).toBe(call === 'close');
    releaseLink(link, options);
    expect(link.calls).toEqual([call]);
  });
});
