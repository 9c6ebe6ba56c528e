import { describe, expect, it } from 'vitest';
import type { AddressEntry, AddressState, WorkloadInfo } from './address-state.js';
import { MeshIndex } from './mesh-index.js';
import { meshView } from './mesh-view.js';
import { PersistentMap } from './persistent-map.js';

function workload(uid: string, fields: Partial<WorkloadInfo>): AddressEntry {
  const info: WorkloadInfo = {
    uid, name: uid, namespace: 'default', addresses: [], hostname: '', network: '', tunnelProtocol: 'HBONE', trustDomain: '',
    serviceAccount: '', node: '', clusterId: '', status: 'HEALTHY', networkMode: 'STANDARD', services: {}, ...fields,
  };
  return { name: uid, version: '1', kind: 'workload', workload: info };
}
const service: AddressEntry = {
  name: 'default/svc', version: '1', kind: 'service',
  service: { name: 'svc', namespace: 'default', hostname: 'svc', addresses: [{ network: '', address: '10.96.0.10' }], ports: [] },
};
const stateOf = (...entries: AddressEntry[]): AddressState => ({ resources: PersistentMap.from(entries.map((e) => [e.name, e] as const)) });

describe('MeshIndex', () => {
  it('reports the members that appeared and went, and local changes', () => {
    const index = new MeshIndex('node-a');
    const s1 = stateOf(workload('a', { addresses: ['10.0.0.1', 'fd00::1'], node: 'node-a' }), workload('b', { addresses: ['10.0.0.2'] }), service);
    expect(index.update(s1)).toEqual({ added: ['10.0.0.1', 'fd00::1', '10.0.0.2'], removed: [], localChanged: true });
    expect(index.view()).toEqual(meshView(s1, 'node-a'));
    // b leaves the mesh (NONE), c joins with b's address: net, nothing changes for the address
    const s2 = stateOf(
      workload('a', { addresses: ['10.0.0.1', 'fd00::1'], node: 'node-a' }),
      workload('b', { addresses: ['10.0.0.2'], tunnelProtocol: 'NONE' }),
      workload('c', { addresses: ['10.0.0.2'] }),
      service,
    );
    expect(index.update(s2, { previous: s1, upserted: ['b', 'c'], removed: [] })).toEqual({ added: [], removed: [], localChanged: false });
    // a moves to another node; c goes host-network
    const s3 = stateOf(
      workload('a', { addresses: ['10.0.0.1', 'fd00::1'], node: 'node-b' }),
      workload('b', { addresses: ['10.0.0.2'], tunnelProtocol: 'NONE' }),
      workload('c', { addresses: ['10.0.0.2'], networkMode: 'HOST_NETWORK' }),
    );
    expect(index.update(s3, { previous: s2, upserted: ['a', 'c'], removed: ['default/svc'] })).toEqual({ added: [], removed: ['10.0.0.2'], localChanged: true });
    expect(index.view()).toEqual(meshView(s3, 'node-a'));
    expect(index.memberCount).toBe(2);
    expect(index.localCount).toBe(0);
    // a change whose `previous` is not the state seen last is not trusted: everything is compared
    const s4 = stateOf(workload('z', { addresses: ['10.0.0.26'] }));
    expect(index.update(s4, { previous: s1, upserted: [], removed: [] })).toEqual({ added: ['10.0.0.26'], removed: ['10.0.0.1', 'fd00::1'], localChanged: false });
    expect(index.update(s4)).toEqual({ added: [], removed: [], localChanged: false });
  });

  it('always equals meshView of the last state, over random changes (with and without the change named)', () => {
    let seed = 7;
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const index = new MeshIndex('n1', 'net1');
    let state: AddressState = { resources: PersistentMap.empty<AddressEntry>() };
    for (let step = 0; step < 400; step++) {
      const upserted: string[] = [];
      const removed: string[] = [];
      const next = (state.resources as PersistentMap<AddressEntry>).batch((w) => {
        for (let k = 0; k < 1 + Math.floor(random() * 5); k++) {
          const uid = `w${Math.floor(random() * 30)}`;
          if (random() < 0.3) {
            if (w.delete(uid)) removed.push(uid);
            continue;
          }
          const addresses = Array.from({ length: Math.floor(random() * 3) }, () => `10.0.0.${Math.floor(random() * 20)}`);
          w.set(uid, workload(uid, { addresses, node: random() < 0.3 ? 'n1' : 'n2', tunnelProtocol: random() < 0.8 ? 'HBONE' : 'NONE', network: random() < 0.7 ? 'net1' : 'net2' }));
          upserted.push(uid);
        }
      });
      const nextState: AddressState = { resources: next };
      const before = new Set(index.view().members);
      const delta = index.update(nextState, step % 3 === 0 ? undefined : { previous: state, upserted, removed });
      state = nextState;
      const view = meshView(state, 'n1', 'net1');
      expect(index.view()).toEqual(view);
      const after = new Set(view.members);
      expect(new Set(delta.added)).toEqual(new Set([...after].filter((a) => !before.has(a))));
      expect(new Set(delta.removed)).toEqual(new Set([...before].filter((a) => !after.has(a))));
    }
  });
});
