import { describe, expect, it } from 'vitest';
import type { PodNetwork } from '../src/zds/hbone-listeners.js';
import { selectPods } from '../src/zds/pod-selection.js';

const pod = (uid: string, addresses: string[], extra: Partial<PodNetwork> = {}): PodNetwork => ({
  uid,
  name: uid,
  namespace: 'ns',
  serviceAccount: 'default',
  netnsPath: `/proc/self/fd/${uid.length + 10}`,
  netnsInode: BigInt(`0x${Buffer.from(uid).toString('hex')}`),
  addresses,
  confirmed: true,
  pending: false,
  listeners: [],
  listenersLost: false,
  ...extra,
});

describe('selectPods', () => {
  const cases: [string, PodNetwork[], string[], { uid: string; reason: RegExp }[]][] = [
    ['confirmed pods with addresses', [pod('a', ['10.0.0.1']), pod('b', ['10.0.0.2', 'fd00::2'])], ['a', 'b'], []],
    ['unconfirmed pods are left out silently', [pod('a', ['10.0.0.1'], { confirmed: false })], [], []],
    ['a pod without addresses', [pod('a', [])], [], [{ uid: 'a', reason: /no address/ }]],
    [
      'two pods claiming one address: neither',
      [pod('a', ['10.0.0.1']), pod('b', ['10.0.0.1', '10.0.0.2']), pod('c', ['10.0.0.3'])],
      ['c'],
      [{ uid: 'a', reason: /shares an address with pod\(s\) b/ }, { uid: 'b', reason: /shares an address with pod\(s\) a/ }],
    ],
    [
      'two pods in one netns: neither',
      [pod('a', ['10.0.0.1'], { netnsInode: 7n }), pod('b', ['10.0.0.2'], { netnsInode: 7n })],
      [],
      [{ uid: 'a', reason: /network namespace with pod\(s\) b/ }, { uid: 'b', reason: /network namespace with pod\(s\) a/ }],
    ],
    ['an unconfirmed pod does not make a confirmed one a duplicate', [pod('a', ['10.0.0.1']), pod('b', ['10.0.0.1'], { confirmed: false })], ['a'], []],
  ];
  it.each(cases)('%s', (_name, input, kept, skipped) => {
    const result = selectPods(input);
    expect(result.pods.map((p) => p.uid)).toEqual(kept);
    expect(result.skipped).toHaveLength(skipped.length);
    skipped.forEach((s, i) => expect(result.skipped[i]).toMatchObject({ uid: s.uid, reason: expect.stringMatching(s.reason) }));
  });
});
