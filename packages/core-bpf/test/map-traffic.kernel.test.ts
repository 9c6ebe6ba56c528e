// Real traffic through a program steered by typed maps: core_classify on tc ingress of a veth in a
// fresh netns (attached with the tc tool to a pinned program, independent of the link modules).
// Routes written from TypeScript drop or pass real pings; flows the program records from real UDP
// and TCP packets read back through the struct codec with network-order fields.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codecs as c } from '../src/codecs.js';
import { defineSkeleton, loadSkeleton, type Skeleton } from '../src/skeleton.js';
import { FlowKey, fixturePath, makePinDir, removePinDir, Route, TC_ACT_OK, TC_ACT_SHOT } from './support/core-maps-fixture.js';
import { Lab, ping, run, tcpEcho } from './support/lab.js';

const spec = defineSkeleton({
  programs: ['core_classify'],
  maps: {
    core_routes: { key: c.ipv4Cidr, value: Route },
    core_flows: { key: FlowKey, value: c.u64 },
    core_counters: { key: c.u32, value: c.u64, perCpu: true },
  },
});

const lab = new Lab();
let dir: string;
let nsA: string; // a0 10.78.0.1, core_classify on its tc ingress
let nsB: string; // b0 10.78.0.2, the traffic source
let skel: Skeleton<'core_classify', typeof spec.maps>;

beforeAll(() => {
  dir = makePinDir();
  nsA = lab.addNetns('cbpfaA');
  nsB = lab.addNetns('cbpfaB');
  lab.veth(nsA, 'a0', '10.78.0.1/24', nsB, 'b0', '10.78.0.2/24');
  skel = loadSkeleton(fixturePath('core_maps'), spec, {
    maps: { core_pinned: { create: false } },
    constants: { core_default_action: TC_ACT_OK },
  });
  skel.programs.core_classify.pin(`${dir}/classify`);
  const inA = ['--net=/var/run/netns/' + nsA];
  run('nsenter', [...inA, 'tc', 'qdisc', 'add', 'dev', 'a0', 'clsact']);
  run('nsenter', [...inA, 'tc', 'filter', 'add', 'dev', 'a0', 'ingress', 'bpf', 'da', 'object-pinned', `${dir}/classify`]);
});

afterAll(() => {
  skel?.close();
  lab.cleanup();
  removePinDir(dir);
});

const drop = { action: TC_ACT_SHOT, gateway: '0.0.0.0', port: 0, flags: 0, cookie: 1n };

function sendUdp(ns: string, from: number, to: string, port: number): void {
  const code = `const s = require('node:dgram').createSocket('udp4');
s.bind(${from}, () => s.send('hello', ${port}, '${to}', (e) => { s.close(); process.exit(e ? 1 : 0); }));`;
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '-e', code], { encoding: 'utf8', timeout: 10000 });
  if (r.status !== 0) throw new Error(`udp send failed: ${r.stderr}`);
}

describe('maps steering real traffic', () => {
  it('drops and passes pings as the routes map says', () => {
    expect(ping(nsB, '10.78.0.1', 2)).toBe(2);
    skel.maps.core_routes.reconcile([['10.78.0.1/32', drop]]);
    expect(ping(nsB, '10.78.0.1', 2)).toBe(0);
    skel.maps.core_routes.reconcile([['10.78.0.0/24', { ...drop, action: TC_ACT_OK }]]);
    expect(ping(nsB, '10.78.0.1', 2)).toBe(2);
    skel.maps.core_routes.reconcile([]);
    expect(skel.maps.core_counters.get(0)!.reduce((a, b) => a + b)).toBeGreaterThanOrEqual(6n);
  });

  it('reads flows recorded from real UDP and TCP packets', async () => {
    skel.maps.core_flows.clear();
    sendUdp(nsB, 40123, '10.78.0.1', 9999);
    sendUdp(nsB, 40123, '10.78.0.1', 9999);
    expect(await tcpEcho(nsA, nsB, '10.78.0.1', 18080, 'ping')).toBe('ping');
    const flows = [...skel.maps.core_flows.entries()];
    expect(flows).toContainEqual([{ saddr: '10.78.0.2', daddr: '10.78.0.1', sport: 40123, dport: 9999, proto: 17 }, 2n]);
    const tcp = flows.filter(([k]) => k.proto === 6 && k.dport === 18080 && k.saddr === '10.78.0.2');
    expect(tcp).toHaveLength(1);
    expect(tcp[0][1]).toBeGreaterThanOrEqual(3n); // SYN, ACK, data, FIN...
  });
});
