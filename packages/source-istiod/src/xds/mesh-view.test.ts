import { describe, expect, it } from 'vitest';
import type { AddressEntry, AddressState, WorkloadInfo } from './address-state.js';
import { meshView } from './mesh-view.js';

function workload(uid: string, fields: Partial<WorkloadInfo>): AddressEntry {
  const info: WorkloadInfo = {
    uid,
    name: uid,
    namespace: 'default',
    addresses: [],
    hostname: '',
    network: '',
    tunnelProtocol: 'HBONE',
    trustDomain: '',
    serviceAccount: '',
    node: '',
    clusterId: '',
    status: 'HEALTHY',
    networkMode: 'STANDARD',
    services: {},
    ...fields,
  };
  return { name: uid, version: '1', kind: 'workload', workload: info };
}

const stateOf = (...entries: AddressEntry[]): AddressState => ({
  resources: new Map(entries.map((e) => [e.name, e])),
});

describe('meshView', () => {
  const service: AddressEntry = {
    name: 'default/svc.default.svc.cluster.local',
    version: '1',
    kind: 'service',
    service: { name: 'svc', namespace: 'default', hostname: 'svc.default.svc.cluster.local', addresses: [{ network: '', address: '10.96.0.10' }], ports: [] },
  };
  const cases: { name: string; state: AddressState; node?: string; members: string[]; local: string[] }[] = [
    { name: 'empty state', state: stateOf(), node: 'node-a', members: [], local: [] },
    {
      name: 'HBONE workloads are members with all their addresses, v4 and v6',
      state: stateOf(workload('a', { addresses: ['10.0.0.2', 'fd00::2'], node: 'node-b' }), workload('b', { addresses: ['10.0.0.1'] })),
      node: 'node-a',
      members: ['10.0.0.1', '10.0.0.2', 'fd00::2'],
      local: [],
    },
    {
      name: 'non-HBONE workloads and services are not members',
      state: stateOf(
        workload('a', { addresses: ['10.0.0.1'], tunnelProtocol: 'NONE', node: 'node-a' }),
        workload('b', { addresses: ['10.0.0.2'], tunnelProtocol: 'LEGACY_ISTIO_MTLS' }),
        workload('c', { addresses: ['10.0.0.3'], tunnelProtocol: '7' }),
        service,
      ),
      node: 'node-a',
      members: [],
      local: [],
    },
    {
      name: 'HBONE workloads on this node are local, sorted by uid',
      state: stateOf(
        workload('z', { addresses: ['10.0.0.9'], node: 'node-a' }),
        workload('m', { addresses: ['10.0.0.5'], node: 'node-b' }),
        workload('a', { addresses: ['10.0.0.1', 'fd00::1'], node: 'node-a' }),
        workload('n', { addresses: ['10.0.0.6'], node: 'node-a', tunnelProtocol: 'NONE' }),
      ),
      node: 'node-a',
      members: ['10.0.0.1', '10.0.0.5', '10.0.0.9', 'fd00::1'],
      local: ['a', 'z'],
    },
    {
      name: 'no node name: nothing is local',
      state: stateOf(workload('a', { addresses: ['10.0.0.1'], node: '' })),
      members: ['10.0.0.1'],
      local: [],
    },
    {
      name: 'host-network workloads are neither members nor local',
      state: stateOf(workload('h', { addresses: ['192.168.1.10'], node: 'node-a', networkMode: 'HOST_NETWORK' })),
      node: 'node-a',
      members: [],
      local: [],
    },
    {
      name: 'an address shared by two workloads is listed once',
      state: stateOf(workload('a', { addresses: ['10.0.0.1'] }), workload('b', { addresses: ['10.0.0.1'] })),
      members: ['10.0.0.1'],
      local: [],
    },
  ];
  it.each(cases)('$name', ({ state, node, members, local }) => {
    const view = meshView(state, node);
    expect(view.members).toEqual(members);
    expect(view.localWorkloads.map((w) => w.uid)).toEqual(local);
  });

  it('only workloads of this node\'s network are members: an overlapping IP of another network is not (keyed by network and address)', () => {
    const state = stateOf(
      workload('here', { addresses: ['10.0.0.1'], network: 'net1', node: 'n1' }),
      workload('there', { addresses: ['10.0.0.1', '10.0.0.2'], network: 'net2', node: 'n1' }),
      workload('default', { addresses: ['10.0.0.3'] }),
    );
    expect(meshView(state, 'n1', 'net1')).toEqual({ members: ['10.0.0.1'], localWorkloads: [expect.objectContaining({ uid: 'here' })] });
    expect(meshView(state, 'n1', 'net2').members).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(meshView(state, 'n1').members).toEqual(['10.0.0.3']); // the default network: ''
  });

  it('local workloads carry uid, name, namespace and addresses', () => {
    const view = meshView(stateOf(workload('uid-1', { name: 'pod-1', namespace: 'shop', addresses: ['10.0.0.1', 'fd00::1'], node: 'n1' })), 'n1');
    expect(view.localWorkloads).toEqual([{ uid: 'uid-1', name: 'pod-1', namespace: 'shop', addresses: ['10.0.0.1', 'fd00::1'] }]);
  });
});
