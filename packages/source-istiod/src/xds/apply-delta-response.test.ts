import { describe, expect, it } from 'vitest';
import { serviceResource, workloadResource } from '../../test/support/fake-istiod.js';
import { type AddressState, emptyAddressState, resourceVersions } from './address-state.js';
import { applyDeltaResponse } from './apply-delta-response.js';
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

describe('applyDeltaResponse: rejected responses leave the state as it was', () => {
  const good = workloadResource({ uid: 'w9', addresses: ['10.0.0.9'] });
  const cases: { name: string; input: RawDeltaDiscoveryResponseInput; error: RegExp }[] = [
    {
      name: 'unknown type URL on the response',
      input: { type_url: 'type.googleapis.com/istio.security.Authorization', resources: [good] },
      error: /unknown type URL "type\.googleapis\.com\/istio\.security\.Authorization" in the response/,
    },
    {
      name: 'unknown type URL on a resource',
      input: { resources: [good, { ...good, name: 'x', resource: { type_url: 'type.googleapis.com/foo.Bar', value: Buffer.alloc(0) } }] },
      error: /resource "x" has unknown type URL "type\.googleapis\.com\/foo\.Bar"/,
    },
    {
      name: 'an Any whose bytes do not decode',
      input: { resources: [good, { name: 'bad', version: '1', resource: { type_url: ADDRESS_TYPE_URL, value: Buffer.from([0x0a, 0x50, 1, 2]) } }] },
      error: /resource "bad" does not decode as istio\.workload\.Address/,
    },
    {
      name: 'an address of 5 bytes',
      input: {
        resources: [
          good,
          {
            name: 'odd',
            version: '1',
            resource: { type_url: ADDRESS_TYPE_URL, value: protos.encodeAddress({ workload: { uid: 'odd', addresses: [Buffer.alloc(5)] } }) },
          },
        ],
      },
      error: /workload "odd": address 0 has 5 bytes \(accepted: 4 for IPv4, 16 for IPv6\)/,
    },
    {
      name: 'an Address with neither workload nor service',
      input: { resources: [{ name: 'empty', version: '1', resource: { type_url: ADDRESS_TYPE_URL, value: Buffer.alloc(0) } }] },
      error: /resource "empty": the Address holds neither a workload nor a service/,
    },
    {
      name: 'a resource without a name',
      input: { resources: [{ ...good, name: '' }] },
      error: /resource 0 has no name/,
    },
    {
      name: 'a resource without a body',
      input: { resources: [{ name: 'hollow', version: '1' }] },
      error: /resource "hollow" has no body/,
    },
    {
      name: 'the same name twice',
      input: { resources: [good, good] },
      error: /resource "w9" appears twice/,
    },
    {
      name: 'the same name updated and removed',
      input: { resources: [good], removed_resources: ['w9'] },
      error: /resource "w9" is both updated and removed/,
    },
  ];
  it.each(cases)('$name', ({ input, error }) => {
    const before = resourceVersions(base);
    const result = applyDeltaResponse(base, wire(input), options);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatch(error);
    expect(resourceVersions(base)).toEqual(before);
  });
});
