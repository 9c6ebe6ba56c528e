import { describe, expect, it } from 'vitest';
import { serviceResource, workloadResource } from '../../test/support/fake-istiod.js';
import { type AddressState, emptyAddressState, resourceVersions } from './address-state.js';
import { applyDeltaResponse, rejectionDetail } from './apply-delta-response.js';
import { ADDRESS_TYPE_URL, type RawDeltaDiscoveryResponse } from './xds-messages.js';
import { loadXdsProtos, type RawDeltaDiscoveryResponseInput } from './xds-protos.js';

const protos = loadXdsProtos();
const options = { typeUrl: ADDRESS_TYPE_URL, decodeAddress: protos.decodeAddress };

/** What the client would receive for `input`: encoded and decoded like on the wire. */
function wire(input: RawDeltaDiscoveryResponseInput): RawDeltaDiscoveryResponse {
  const method = protos.deltaMethod;
  return method.responseDeserialize(method.responseSerialize({ type_url: ADDRESS_TYPE_URL, nonce: 'n', ...input }));
}

function apply(state: AddressState, input: RawDeltaDiscoveryResponseInput): AddressState {
  const result = applyDeltaResponse(state, wire(input), options);
  if (!result.ok) throw new Error(result.error);
  if (result.rejected.length) throw new Error(result.rejected.map((r) => r.reason).join('; '));
  return result.state;
}

const base = apply(emptyAddressState, {
  resources: [
    workloadResource({ uid: 'w1', addresses: ['10.0.0.1'], node: 'node-a', version: 'v1' }),
    workloadResource({ uid: 'w2', addresses: ['10.0.0.2', 'fd00::2'], tunnelProtocol: 'NONE', version: 'v1' }),
    serviceResource({ namespace: 'shop', hostname: 'cart.shop.svc.cluster.local', addresses: ['10.96.0.1'] }),
  ],
});

describe('applyDeltaResponse: accepted responses', () => {
  it('translates workloads and services from the wire', () => {
    expect(resourceVersions(base)).toEqual({ w1: 'v1', w2: 'v1', 'shop/cart.shop.svc.cluster.local': '1' });
    const w2 = base.resources.get('w2');
    expect(w2?.kind === 'workload' && w2.workload).toMatchObject({
      uid: 'w2',
      addresses: ['10.0.0.2', 'fd00::2'],
      tunnelProtocol: 'NONE',
      networkMode: 'STANDARD',
      status: 'HEALTHY',
    });
    const svc = base.resources.get('shop/cart.shop.svc.cluster.local');
    expect(svc?.kind === 'service' && svc.service).toEqual({
      name: 'cart',
      namespace: 'shop',
      hostname: 'cart.shop.svc.cluster.local',
      addresses: [{ network: '', address: '10.96.0.1' }],
      ports: [{ servicePort: 80, targetPort: 8080 }],
    });
  });

  it('keeps the prefix length of a service address that is a range (NetworkAddress.length, Istio 1.30+) and the workload\'s network', () => {
    const state = apply(base, {
      resources: [
        serviceResource({ namespace: 'ext', hostname: 'range.ext', addresses: ['10.200.0.0/16', 'fd00:200::/64', '10.201.0.1'] }),
        workloadResource({ uid: 'w7', addresses: ['10.0.0.7'], network: 'net2' }),
      ],
    });
    const svc = state.resources.get('ext/range.ext');
    expect(svc?.kind === 'service' && svc.service.addresses).toEqual([
      { network: '', address: '10.200.0.0', length: 16 },
      { network: '', address: 'fd00:200::', length: 64 },
      { network: '', address: '10.201.0.1' },
    ]);
    const w7 = state.resources.get('w7');
    expect(w7?.kind === 'workload' && w7.workload.network).toBe('net2');
    const tooLong = applyDeltaResponse(base, wire({ resources: [serviceResource({ namespace: 'ext', hostname: 'bad.ext', addresses: ['10.0.0.0/33'] })] }), options);
    expect(tooLong.ok && tooLong.rejected.map((r) => r.reason)).toEqual(['service "ext/bad.ext": address 0 10.0.0.0 has prefix length 33 (at most 32)']);
  });

  const cases: {
    name: string;
    input: RawDeltaDiscoveryResponseInput & { removed_resource_names?: { name: string }[] };
    upserted: string[];
    removed: string[];
    versions: Record<string, string>;
  }[] = [
    {
      name: 'an update replaces one resource',
      input: { resources: [workloadResource({ uid: 'w1', addresses: ['10.0.0.11'], version: 'v2' })] },
      upserted: ['w1'],
      removed: [],
      versions: { w1: 'v2', w2: 'v1', 'shop/cart.shop.svc.cluster.local': '1' },
    },
    {
      name: 'removed_resources drops held names and ignores unknown ones',
      input: { removed_resources: ['w2', 'never-seen'] },
      upserted: [],
      removed: ['w2'],
      versions: { w1: 'v1', 'shop/cart.shop.svc.cluster.local': '1' },
    },
    {
      name: 'removed_resource_names is honoured too',
      input: { removed_resource_names: [{ name: 'shop/cart.shop.svc.cluster.local' }] } as RawDeltaDiscoveryResponseInput,
      upserted: [],
      removed: ['shop/cart.shop.svc.cluster.local'],
      versions: { w1: 'v1', w2: 'v1' },
    },
    {
      name: 'additions and removals in one response',
      input: { resources: [workloadResource({ uid: 'w3', addresses: ['10.0.0.3'] })], removed_resources: ['w1'] },
      upserted: ['w3'],
      removed: ['w1'],
      versions: { w2: 'v1', w3: '1', 'shop/cart.shop.svc.cluster.local': '1' },
    },
    {
      name: 'an empty response changes nothing',
      input: {},
      upserted: [],
      removed: [],
      versions: { w1: 'v1', w2: 'v1', 'shop/cart.shop.svc.cluster.local': '1' },
    },
  ];
  it.each(cases)('$name', ({ input, upserted, removed, versions }) => {
    const before = resourceVersions(base);
    const result = applyDeltaResponse(base, wire(input), options);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.upserted).toEqual(upserted);
    expect(result.removed).toEqual(removed);
    expect(resourceVersions(result.state)).toEqual(versions);
    expect(resourceVersions(base)).toEqual(before); // the input state is never mutated
  });
});

describe('applyDeltaResponse: a bad resource is rejected alone, the others applied (ztunnel src/xds/client.rs)', () => {
  const good = workloadResource({ uid: 'w9', addresses: ['10.0.0.9'] });
  /** `bad` changes w1 (held at v1): rejected, w1 keeps v1; `good` (w9) and the removal of w2 are applied */
  const w1 = (resource: object) => ({ ...resource, name: 'w1', version: 'v2' });
  const cases: { name: string; bad: RawDeltaDiscoveryResponseInput['resources'] extends (infer R)[] | undefined ? R : never; rejected: string; reason: RegExp }[] = [
    {
      name: 'unknown type URL on a resource',
      bad: w1({ resource: { type_url: 'type.googleapis.com/foo.Bar', value: Buffer.alloc(0) } }),
      rejected: 'w1',
      reason: /resource "w1" has unknown type URL "type\.googleapis\.com\/foo\.Bar"/,
    },
    {
      name: 'an Any whose bytes do not decode',
      bad: w1({ resource: { type_url: ADDRESS_TYPE_URL, value: Buffer.from([0x0a, 0x50, 1, 2]) } }),
      rejected: 'w1',
      reason: /resource "w1" does not decode as istio\.workload\.Address/,
    },
    {
      name: 'an address of 5 bytes',
      bad: w1({ resource: { type_url: ADDRESS_TYPE_URL, value: protos.encodeAddress({ workload: { uid: 'w1', addresses: [Buffer.alloc(5)] } }) } }),
      rejected: 'w1',
      reason: /workload "w1": address 0 has 5 bytes \(accepted: 4 for IPv4, 16 for IPv6\)/,
    },
    {
      name: 'an Address with neither workload nor service',
      bad: w1({ resource: { type_url: ADDRESS_TYPE_URL, value: Buffer.alloc(0) } }),
      rejected: 'w1',
      reason: /resource "w1": the Address holds neither a workload nor a service/,
    },
    {
      name: 'a resource without a name',
      bad: { ...good, name: '' },
      rejected: 'resource 0',
      reason: /resource 0 has no name/,
    },
    {
      name: 'a resource without a body',
      bad: w1({}),
      rejected: 'w1',
      reason: /resource "w1" has no body/,
    },
  ];
  it.each(cases)('$name', ({ bad, rejected, reason }) => {
    const before = resourceVersions(base);
    const result = applyDeltaResponse(base, wire({ resources: [bad, good], removed_resources: ['w2'] }), options);
    if (!result.ok) throw new Error(result.error);
    expect(result.rejected.map((r) => r.name)).toEqual([rejected]);
    expect(result.rejected[0]!.reason).toMatch(reason);
    expect(result.upserted).toEqual(['w9']);
    expect(result.removed).toEqual(['w2']);
    expect(resourceVersions(result.state)).toMatchObject({ w1: 'v1', w9: expect.any(String) });
    expect(resourceVersions(result.state)).not.toHaveProperty('w2');
    expect(resourceVersions(base)).toEqual(before); // the input state is never mutated
  });

  it('a name given twice, or updated and removed at once, is applied in none of its parts; the rest is', () => {
    const twice = applyDeltaResponse(base, wire({ resources: [w1(good), good, { ...good, name: 'w1' }], removed_resources: ['w2'] }), options);
    if (!twice.ok) throw new Error(twice.error);
    expect(twice.rejected).toEqual([{ name: 'w1', reason: expect.stringMatching(/resource "w1" appears twice/) }]);
    expect(twice.upserted).toEqual(['w9']);
    expect(resourceVersions(twice.state)).toMatchObject({ w1: 'v1' });

    const both = applyDeltaResponse(base, wire({ resources: [w1(good), good], removed_resources: ['w1', 'w2'] }), options);
    if (!both.ok) throw new Error(both.error);
    expect(both.rejected).toEqual([{ name: 'w1', reason: expect.stringMatching(/resource "w1" is both updated and removed/) }]);
    expect(both.removed).toEqual(['w2']);
    expect(resourceVersions(both.state)).toMatchObject({ w1: 'v1' });
  });

  it('every resource rejected: the very state held comes back (nothing changed)', () => {
    const result = applyDeltaResponse(base, wire({ resources: [w1({})] }), options);
    if (!result.ok) throw new Error(result.error);
    expect(result.state).toBe(base);
    expect(rejectionDetail(result.rejected)).toMatch(/^resource "w1" has no body/);
  });

  it('a response of another type URL is refused whole', () => {
    const result = applyDeltaResponse(base, wire({ type_url: 'type.googleapis.com/istio.security.Authorization', resources: [good] }), options);
    expect(result).toEqual({ ok: false, error: expect.stringMatching(/unknown type URL "type\.googleapis\.com\/istio\.security\.Authorization" in the response/) });
  });
});
