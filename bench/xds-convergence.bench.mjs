// bench/xds-convergence: how long a 10,000-workload Istiod snapshot takes to reach the sk_lookup
// maps, and what one incremental update costs, in the same run:
//   raw batch     TypedMap.setMany of the 10,000 member keys into skl_members of a freshly loaded
//                 sk_lookup_mesh object (the baseline: the kernel write alone)
//   dataplane     SklookupDataplane.apply of 10,000 `mesh.member` intents (validation, diff against
//                 the kernel view, the same batch write)
//   end to end    the real agent path: a fake Istiod (bench/mesh-istiod.mjs, its own process,
//                 responses serialised beforehand) pushes one Delta xDS response holding 10,000 HBONE
//                 workloads (every 100th on this node) to @bpfsteer/agent-kernel's createAgent running
//                 the istiod source and the sklookup plugin; the clock runs from the push until the
//                 source's commit is applied (the source's "mesh intents applied" log line), when the
//                 pinned skl_members map is checked to hold every member. "ACK at Istiod": when the
//                 fake Istiod got the client's ACK (written once the response is decoded into the
//                 client's state; it leaves the process after the synchronous part of the source's
//                 publish: mesh view, intent checks).
// Per round: the snapshot as the agent's first (pushed when the starting agent subscribes; the clock
// stops when agent.start() resolves after its first apply round), then 10 single updates (one more
// workload each), then one response removing every workload, then the snapshot again into the
// running agent. raw and dataplane do the same writes (a fresh map / dataplane per round; 10 rounds,
// interleaved, after one unmeasured warm-up round).
// The workloads on this node become `mesh.local-workload` intents, which the sklookup plugin does not
// consume (its `sklookup.pod` intents come from the ZDS side), so the source does not emit them here.
// Needs root, `make -C bpf` and the builds of core-bpf, agent-kernel, plugin-sklookup, source-istiod.
// Usage: node bench/xds-convergence.bench.mjs [workloads (10000)] [rounds (3)] [increments per round (10)]
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { createAgent } from '@bpfsteer/agent-kernel';
import { BpfMap, BpfObject, TypedMap, codecs } from '@bpfsteer/core-bpf';
import { MESH_MEMBER_KIND, SklookupDataplane, defaultObjectPath, meshKey, readDesiredMesh, sklookupPlugin } from '@bpfsteer/plugin-sklookup';
import { istiodSource } from '@bpfsteer/source-istiod';
import { pino } from 'pino';
import { startFakeIstiod } from './mesh-istiod-process.mjs';
import { workloadAddress } from './mesh-workloads.mjs';
import { printTable } from './table.mjs';

const arg = (i, name, def, min, max) => {
  const v = Number(process.argv[i] ?? def);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name} must be an integer ${min}..${max}, got ${JSON.stringify(process.argv[i])}`);
  return v;
};
const workloads = arg(2, 'workloads', 10_000, 1, 60_000); // skl_members holds 65,536 by default
const rounds = arg(3, 'rounds', 3, 1, 100);
const increments = arg(4, 'increments per round', 10, 1, 1000);
const LOCAL_EVERY = 100;
const NODE = 'bench-node';
const TARGET_MS = 1000;
const LOCAL_ROUNDS = 10; // of raw and dataplane

const addrKey = codecs.struct({ addr_be: codecs.ipv6 }); // struct skl_addr
const memberKeys = (from, count) => Array.from({ length: count }, (_, i) => ({ addr_be: meshKey(workloadAddress(from + i)) }));
const memberIntents = (count) => Array.from({ length: count }, (_, i) => ({ kind: MESH_MEMBER_KIND, address: workloadAddress(i) }));
const since = (t0) => performance.now() - t0;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const sample = () => ({ first: [], full: [], one: [], removeAll: [], ack: [], ackOne: [] });

/** raw: the kernel writes alone, into a fresh sk_lookup_mesh object's skl_members */
function measureRaw(o, keys, extra) {
  const entries = keys.map((k) => [k, 1]);
  const obj = BpfObject.open(defaultObjectPath());
  try {
    obj.load();
    const members = TypedMap.wrap(obj.map('skl_members'), addrKey, codecs.u32);
    let t0 = performance.now();
    members.setMany(entries);
    o.full.push(since(t0));
    for (const k of extra) {
      t0 = performance.now();
      members.set(k, 1);
      o.one.push(since(t0));
    }
    if (members.count() !== workloads + increments) throw new Error(`raw: ${members.count()} entries, expected ${workloads + increments}`);
    t0 = performance.now();
    members.deleteMany([...keys, ...extra]);
    o.removeAll.push(since(t0));
    if (members.count() !== 0) throw new Error('raw: entries left after deleteMany');
  } finally {
    obj.close();
  }
}

/** dataplane: SklookupDataplane.apply of the member intents (pinned under pinRoot, to count the kernel map) */
function measureDataplane(o, all, pinRoot) {
  const dp = SklookupDataplane.open({ pinRoot });
  let members;
  try {
    dp.load();
    dp.seed();
    dp.attach();
    members = TypedMap.wrap(BpfMap.fromPinned(`${pinRoot}/maps/skl_members`), addrKey, codecs.u32);
    const apply = (n) => dp.apply(readDesiredMesh(new Map([[MESH_MEMBER_KIND, all.slice(0, n)]]), dp.capacity));
    const entries = () => members.count();
    let t0 = performance.now();
    apply(workloads);
    o.full.push(since(t0));
    for (let k = 1; k <= increments; k++) {
      t0 = performance.now();
      apply(workloads + k);
      o.one.push(since(t0));
    }
    if (entries() !== workloads + increments) throw new Error(`dataplane: ${entries()} members, expected ${workloads + increments}`);
    t0 = performance.now();
    apply(0);
    o.removeAll.push(since(t0));
    if (entries() !== 0) throw new Error('dataplane: members left after removing all');
  } finally {
    members?.map.close();
    dp.close({ keepPinned: false });
  }
}

/** end to end: fake Istiod -> istiod source -> agent -> sklookup plugin -> pinned skl_members */
async function measureAgent(out, istiod) {
  const pinRoot = `/sys/fs/bpf/bpfsteer-bench-xds-${process.pid}-${randomBytes(3).toString('hex')}`;
  let waiter;
  const problems = [];
  // the agent's log lines: the istiod source's 'mesh intents applied' ends a commit
  const logger = pino(
    { level: 'info' },
    {
      write(text) {
        const line = JSON.parse(text);
        if (line.msg === 'mesh intents applied' && waiter && line.members === waiter.members) {
          const w = waiter;
          waiter = undefined;
          w.resolve(performance.now());
        } else if (line.level >= 50) {
          problems.push(line);
          waiter?.reject(new Error(`agent: ${line.msg}: ${text}`));
        }
      },
    },
  );
  const appliedWith = (members) => new Promise((resolve, reject) => (waiter = { members, resolve, reject }));
  /** pushes response `id`; resolves with the ms until the source's commit of `members` members was applied */
  const pushAndWait = async (id, members) => {
    const applied = appliedWith(members);
    const t0 = performance.now();
    istiod.push(id);
    return (await applied) - t0;
  };
  const ackOf = async (id) => (await istiod.next((e) => e.event === 'answered' && e.id === id, `the ACK of ${id}`)).ms;
  await istiod.prepare({ id: 'snapshot', from: 0, count: workloads, localEvery: LOCAL_EVERY, node: NODE });
  await istiod.prepare({ id: 'remove-all', from: 0, count: workloads + increments, remove: true });
  for (let k = 0; k < increments; k++) await istiod.prepare({ id: `one-${k}`, from: workloads + k, count: 1, localEvery: LOCAL_EVERY, node: NODE });
  try {
    for (let r = 0; r < rounds; r++) {
      const agent = createAgent({
        plugins: [sklookupPlugin],
        sources: [istiodSource],
        logger,
        config: {
          agent: { pinRoot, adminSocket: false, logLevel: 'info' },
          plugins: [{ id: 'sklookup' }],
          sources: [{ type: 'istiod', address: `127.0.0.1:${istiod.port}`, node: { id: `ztunnel~10.0.0.5~bench-${r}.istio-system~istio-system.svc.cluster.local` }, nodeName: NODE }],
        },
      });
      try {
        // the first snapshot: the starting agent waits for its sources' first publish, then applies
        const started = agent.start();
        await istiod.next((e) => e.event === 'subscribe', 'the agent to subscribe');
        const t0 = performance.now();
        istiod.push('snapshot');
        await started;
        out.first.push(since(t0));
        out.ack.push(await ackOf('snapshot'));
        const members = TypedMap.wrap(BpfMap.fromPinned(`${pinRoot}/sklookup/maps/skl_members`), addrKey, codecs.u32);
        try {
          const expectCount = (n, when) => {
            if (members.count() !== n) throw new Error(`end to end: skl_members holds ${members.count()} ${when}, expected ${n}`);
          };
          expectCount(workloads, 'after the first snapshot');
          for (let k = 0; k < increments; k++) {
            out.one.push(await pushAndWait(`one-${k}`, workloads + k + 1));
            if (!members.has({ addr_be: meshKey(workloadAddress(workloads + k)) })) throw new Error(`end to end: member ${workloads + k} missing`);
            out.ackOne.push(await ackOf(`one-${k}`));
          }
          expectCount(workloads + increments, 'after the single updates');
          out.removeAll.push(await pushAndWait('remove-all', 0));
          expectCount(0, 'after removing every workload');
          await ackOf('remove-all');
          out.full.push(await pushAndWait('snapshot', workloads));
          expectCount(workloads, 'after the snapshot into the running agent');
          out.ack.push(await ackOf('snapshot'));
        } finally {
          members.map.close();
        }
      } finally {
        await agent.stop({ keepPinned: false });
      }
      if (problems.length) throw new Error(`agent logged errors: ${JSON.stringify(problems.slice(0, 3))}`);
    }
  } finally {
    if (existsSync(pinRoot)) rmSync(pinRoot, { recursive: true, force: true });
  }
}

const raw = sample();
const dataplane = sample();
const agent = sample();
const dataplanePins = `/sys/fs/bpf/bpfsteer-bench-xdsdp-${process.pid}-${randomBytes(3).toString('hex')}`;
const istiod = await startFakeIstiod();
try {
  // raw and dataplane are cheap: more rounds, interleaved, after one unmeasured warm-up round
  const keys = memberKeys(0, workloads);
  const extra = memberKeys(workloads, increments);
  const all = memberIntents(workloads + increments);
  try {
    for (let r = 0; r <= LOCAL_ROUNDS; r++) {
      measureRaw(r === 0 ? sample() : raw, keys, extra);
      measureDataplane(r === 0 ? sample() : dataplane, all, dataplanePins);
    }
  } finally {
    if (existsSync(dataplanePins)) rmSync(dataplanePins, { recursive: true, force: true });
  }
  await measureAgent(agent, istiod);
} finally {
  istiod.stop();
}

const fmt = (v) => (v < 1 ? v.toFixed(3) : v < 10 ? v.toFixed(2) : v.toFixed(1));
const row = (step, what, xs, base, ack = '') => [step, what, fmt(median(xs)), fmt(Math.min(...xs)), fmt(Math.max(...xs)), base ? median(xs) / median(base) : 1, ack === '' ? '' : fmt(median(ack))];
const n = workloads.toLocaleString('en');
printTable(
  `xDS convergence into the sk_lookup maps: ${n} HBONE workloads, ${rounds} agent rounds (raw, dataplane: ${LOCAL_ROUNDS}), ${increments} single updates per round (ms)`,
  ['step', 'what', 'median', 'best', 'worst', 'vs raw', 'ACK at Istiod'],
  [
    [`${n} added`, 'raw TypedMap.setMany (baseline)', raw.full],
    [`${n} added`, 'SklookupDataplane.apply', dataplane.full, raw.full],
    [`${n} added`, 'Istiod -> agent -> map, first snapshot', agent.first, raw.full, agent.ack.filter((_, i) => i % 2 === 0)],
    [`${n} added`, 'Istiod -> agent -> map, running agent', agent.full, raw.full, agent.ack.filter((_, i) => i % 2 === 1)],
    ['+1 workload', 'raw TypedMap.set (baseline)', raw.one],
    ['+1 workload', 'SklookupDataplane.apply', dataplane.one, raw.one],
    ['+1 workload', 'Istiod -> agent -> map', agent.one, raw.one, agent.ackOne],
    [`${n} removed`, 'raw TypedMap.deleteMany (baseline)', raw.removeAll],
    [`${n} removed`, 'SklookupDataplane.apply', dataplane.removeAll, raw.removeAll],
    [`${n} removed`, 'Istiod -> agent -> map', agent.removeAll, raw.removeAll],
  ].map(([step, what, xs, base, ack]) => row(step, what, xs, base, ack)),
);
const worst = Math.max(...agent.first, ...agent.full);
console.log(`target: ${n} workloads applied end to end in under ${TARGET_MS} ms: ${worst < TARGET_MS ? 'met' : 'MISSED'} (worst of ${2 * rounds} snapshots: ${worst.toFixed(1)} ms)`);
