// Pure parts of the CNI side: options, pod addresses, registration requests, pods -> sk_lookup intents.
import { describe, expect, it } from 'vitest';
import { zdsProxyOptionsSchema } from '../src/zds/zds-proxy-options.js';
import { hboneListenersOptionsSchema } from '../src/zds/hbone-listeners-options.js';
import { podAddressesOf } from '../src/zds/pod-addresses.js';
import { checkRegistration } from '../src/zds/listener-registration.js';
import { SKLOOKUP_POD_KIND, sklookupPodIntentSchema } from '@bpfsteer/contract-mesh';
import { podSocketHandles, sklookupPodIntents } from '../src/zds/sklookup-intents.js';
import type { PodListener, PodNetwork } from '../src/zds/hbone-listeners.js';
import { ZdsProxy } from '../src/zds/zds-proxy.js';
import { HboneListeners } from '../src/zds/hbone-listeners.js';
import { PodRegistry } from '../src/zds/pod-registry.js';

describe('ZdsProxy options', () => {
  it('fills defaults', () => {
    expect(zdsProxyOptionsSchema.parse({ listenPath: '/run/bpfsteer/zds.sock' })).toEqual({
      listenPath: '/run/bpfsteer/zds.sock',
      upstreamPath: '/var/run/ztunnel/ztunnel.sock',
      backoff: { initialMs: 200, maxMs: 10_000 },
      maxMessageBytes: 65536,
    });
  });

  it('names every problem', () => {
    expect(() => new ZdsProxy({ listenPath: '/var/run/ztunnel/ztunnel.sock' })).toThrow(/listenPath.*must differ from upstreamPath/s);
    expect(() => new ZdsProxy({ listenPath: `/${'x'.repeat(120)}` })).toThrow(/at most 107 bytes/);
    expect(() => new ZdsProxy({ listenPath: '/a', backoff: { initialMs: 500, maxMs: 100 } })).toThrow(/backoff\.maxMs.*at least backoff\.initialMs \(500\)/s);
    expect(() => new ZdsProxy({ listenPath: '/a', socketMode: 0o1000 } as never)).toThrow(/socketMode/);
    expect(() => new ZdsProxy({ listenPath: '/a', bogus: 1 } as never)).toThrow(/bogus/);
  });
});

describe('HboneListeners options', () => {
  it('fills defaults and refuses bad values', () => {
    expect(hboneListenersOptionsSchema.parse({})).toEqual({ hbonePort: 15008, discovery: true, retry: { initialMs: 100, maxMs: 5000, attempts: 30 }, pendingRetryMs: 5000 });
    const reg = new PodRegistry({ closeFd: () => {} });
    expect(() => new HboneListeners(reg, { hbonePort: 0 })).toThrow(/hbonePort/);
    expect(() => new HboneListeners(reg, { retry: { initialMs: 10, maxMs: 5 } })).toThrow(/retry\.maxMs/);
    expect(() => new HboneListeners(reg, { registration: { path: '' } })).toThrow(/registration\.path/);
  });
});

describe('podAddressesOf', () => {
  it('keeps the pod IPs only, sorted and unique', () => {
    const input = ['127.0.0.1', '::1', '10.1.0.5', 'fe80::1', 'fd00::5', '169.254.7.1', '10.1.0.5', 'febf::1', 'fec0::1'].map((address) => ({ address }));
    expect(podAddressesOf(input)).toEqual(['10.1.0.5', 'fd00::5', 'fec0::1']);
  });
});

describe('checkRegistration', () => {
  const ok = (s: string) => Buffer.from(s);
  it.each([
    [{ payload: ok('{"uid":"u1"}'), fdCount: 1 }, { ok: true, value: { uid: 'u1' } }],
    [{ payload: ok('{"uid":"u1"}'), fdCount: 0 }, { ok: false, error: 'a registration carries exactly one fd (the listening socket), got 0' }],
    [{ payload: ok('{"uid":"u1"}'), fdCount: 1, fdsTruncated: true }, { ok: false, error: 'a registration carries exactly one fd (the listening socket), got more' }],
    [{ payload: ok('uid=u1'), fdCount: 1 }, { ok: false, error: 'a registration is the JSON object {"uid": "<pod uid>"}; this is not JSON' }],
    [{ payload: ok('{"uid":""}'), fdCount: 1 }, { ok: false, error: 'a registration is the JSON object {"uid": "<pod uid>"} with a non-empty uid' }],
    [{ payload: ok('["u1"]'), fdCount: 1 }, { ok: false, error: 'a registration is the JSON object {"uid": "<pod uid>"} with a non-empty uid' }],
    [{ payload: ok('null'), fdCount: 1 }, { ok: false, error: 'a registration is the JSON object {"uid": "<pod uid>"} with a non-empty uid' }],
    [{ payload: ok('{"uid":"u1"}'), fdCount: 1, payloadTruncated: true }, { ok: false, error: 'a registration is at most 4096 bytes' }],
  ])('%j', (input, expected) => {
    expect(checkRegistration(input)).toEqual(expected);
  });
});

function listener(family: 4 | 6, fd: number, v6Only?: boolean): PodListener {
  return { fd, family, address: family === 4 ? '0.0.0.0' : '::', port: 15008, inode: BigInt(fd), via: 'discovery', ...(v6Only !== undefined ? { v6Only } : {}) };
}

function network(uid: string, over: Partial<PodNetwork> = {}): PodNetwork {
  return {
    uid,
    name: uid,
    namespace: 'ns',
    serviceAccount: 'sa',
    netnsPath: `/proc/self/fd/${uid.length + 20}`,
    netnsInode: 1n,
    addresses: ['10.0.0.1'],
    confirmed: true,
    pending: false,
    listeners: [],
    listenersLost: false,
    ...over,
  };
}

/** handles as a registry would give them: the netns by the pod's uid length, a listener by its fd */
const socketHandle = (l: PodListener): string => `h:${l.fd}`;
const handlesOf = (p: PodNetwork) => ({ netns: `h:${p.uid.length + 20}`, socket: socketHandle });

describe('podSocketHandles', () => {
  it.each<[string, PodListener[], boolean, string[] | undefined]>([
    ['none found yet: absent (the plugin keeps what the pod has)', [], false, undefined],
    ['lost (the proxy is gone): empty (the plugin drops the entries)', [], true, []],
    ['the only one', [listener(4, 5)], false, ['h:5']],
    ['both families, IPv4 first', [listener(6, 6, true), listener(4, 5)], false, ['h:5', 'h:6']],
    ['a dual-stack one', [listener(6, 6, false)], false, ['h:6']],
  ])('%s', (_n, listeners, listenersLost, handles) => {
    expect(podSocketHandles({ listeners, listenersLost }, socketHandle)).toEqual(handles);
  });
});

describe('sklookupPodIntents', () => {
  it('one sklookup.pod per confirmed pod, sorted by uid, with the listener when known', () => {
    const pods = [
      network('b', { listeners: [listener(6, 8, true), listener(4, 7)], addresses: ['10.0.0.2', 'fd00::2'] }),
      network('a'),
      network('d', { listenersLost: true }),
      network('c', { confirmed: false, listeners: [listener(4, 9)] }),
    ];
    expect(sklookupPodIntents(pods, handlesOf)).toEqual([
      { kind: 'sklookup.pod', uid: 'a', netnsHandle: 'h:21', addresses: ['10.0.0.1'] },
      { kind: 'sklookup.pod', uid: 'b', netnsHandle: 'h:21', addresses: ['10.0.0.2', 'fd00::2'], socketHandles: ['h:7', 'h:8'] },
      { kind: 'sklookup.pod', uid: 'd', netnsHandle: 'h:21', addresses: ['10.0.0.1'], socketHandles: [] },
    ]);
    expect(sklookupPodIntents([], handlesOf)).toEqual([]);
    // each satisfies the contract (as plugin-sklookup validates it)
    for (const { kind, ...fields } of sklookupPodIntents(pods, handlesOf)) {
      expect(kind).toBe(SKLOOKUP_POD_KIND);
      expect(sklookupPodIntentSchema.safeParse(fields).error).toBeUndefined();
    }
  });
});
