// bench/zds-relay: ZDS requests per second through the agent's relay (ZdsProxy, its own process:
// bench/zds-relay-process.mjs) while two proxies are connected, as during a ztunnel rolling update,
// against the same requests sent straight to the same two proxies (the baseline: no relay), in the
// same run. The node agent is the fake istio-cni of source-istiod's tests, driven the way istio-cni
// drives its connections (istio/istio cni/pkg/nodeagent/ztunnelserver.go): one request at a time
// per connection, each waiting for its Ack; an empty snapshot (SnapshotSent) on each new
// connection; new pods (AddWorkload with a real netns fd) to the newest connection only, their
// deletion (DelWorkload) to every connection. The proxies are source-istiod's ztunnel-like test
// proxy (child processes): each Add opens its HBONE listener inside the pod's netns, as ztunnel does.
// Per round: <pods> Adds (a netns each, NetLab), then <pods> x 2 Dels; rounds alternate relay / direct.
// Needs root and the builds of core-bpf, netlab, source-istiod.
// Usage: node bench/zds-relay.bench.mjs [pods (40)] [rounds (4)]
import { mkdtempSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { NetLab } from '@bpfsteer/netlab';
import { onCleanup, runCleanup } from './cleanup.mjs';
import { intArgs } from './int-args.mjs';
import { median } from './stats.mjs';
import { printTable } from './table.mjs';

const USAGE = 'usage: node bench/zds-relay.bench.mjs [pods] [rounds]';
const intArg = intArgs(USAGE);
const PODS = intArg(2, 40, 'pods', 1);
const ROUNDS = intArg(3, 4, 'rounds', 1);

// the test support of source-istiod is TypeScript run directly (Node strips the types; the hooks map ./x.js to ./x.ts)
const support = new URL('../packages/source-istiod/test/support/', import.meta.url);
await import(new URL('ts-hooks.mjs', support).href);
const { FakeIstioCni } = await import(new URL('fake-istio-cni.ts', support).href);
const { ZtunnelChild } = await import(new URL('ztunnel-child.ts', support).href);

const lab = NetLab.create('zdsb');
onCleanup(() => lab.destroySync());
const dir = mkdtempSync('/tmp/bpfsteer-zdsb-');
onCleanup(() => rmSync(dir, { recursive: true, force: true }));
const pods = Array.from({ length: PODS }, (_, i) => lab.nsPath(lab.addNetns(`p${i}`)));

/** Starts the relay between `listenPath` (the proxies) and `upstreamPath` (the node agent). */
async function startRelay(listenPath, upstreamPath) {
  const script = fileURLToPath(new URL('zds-relay-process.mjs', import.meta.url));
  const child = spawn(process.execPath, [script, listenPath, upstreamPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  onCleanup(() => child.exitCode === null && child.kill('SIGKILL'));
  await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the relay exited ${code} before it listened`)));
  });
  return child;
}

let seq = 0;
/** One round: two proxies connected (through the relay or not), PODS adds to the newest, each deleted on both. */
async function round(viaRelay) {
  seq += 1;
  const cniPath = `${dir}/cni-${seq}.sock`;
  const cni = FakeIstioCni.listen(cniPath);
  const relay = viaRelay ? await startRelay(`${dir}/relay-${seq}.sock`, cniPath) : undefined;
  const proxyPath = viaRelay ? `${dir}/relay-${seq}.sock` : cniPath;
  const proxies = [];
  try {
    const conns = [];
    for (let i = 0; i < 2; i++) {
      proxies.push(ZtunnelChild.spawn({ zds: proxyPath }));
      const c = await cni.nextConnection(30_000);
      await c.hello;
      const snap = await c.snapshotSent();
      if (snap.error) throw new Error(`SnapshotSent refused: ${snap.error}`);
      conns.push(c);
    }
    const newest = conns[1];
    const t0 = performance.now();
    for (let i = 0; i < PODS; i++) {
      const a = await newest.add(`bench/pod-${seq}-${i}`, pods[i]);
      if (a.error) throw new Error(`Add refused: ${a.error}`);
    }
    const added = performance.now();
    for (let i = 0; i < PODS; i++) {
      for (const c of conns) {
        const d = await c.del(`bench/pod-${seq}-${i}`);
        if (d.error) throw new Error(`Del refused: ${d.error}`);
      }
    }
    const done = performance.now();
    return { addsPerS: PODS / ((added - t0) / 1000), delsPerS: (2 * PODS) / ((done - added) / 1000), allPerS: (3 * PODS) / ((done - t0) / 1000) };
  } finally {
    for (const p of proxies) await p.kill();
    relay?.kill('SIGTERM');
    cni.close();
  }
}

const watchdog = setTimeout(() => {
  console.error('zds-relay bench: no result within 10 minutes; giving up');
  runCleanup();
  process.exit(1);
}, 10 * 60_000);
try {
  await round(true); // warm-up (both paths: the child processes' first imports)
  await round(false);
  const relay = [];
  const direct = [];
  for (let r = 0; r < ROUNDS; r++) {
    relay.push(await round(true));
    direct.push(await round(false));
  }
  const m = (list, key) => median(list.map((x) => x[key]));
  const rows = [
    ['AddWorkload (netns fd) to the newest of two proxies', 'req/s', m(relay, 'addsPerS'), m(direct, 'addsPerS'), 'the same, no relay', (m(relay, 'addsPerS') / m(direct, 'addsPerS')).toFixed(2)],
    ['DelWorkload to both proxies', 'req/s', m(relay, 'delsPerS'), m(direct, 'delsPerS'), 'the same, no relay', (m(relay, 'delsPerS') / m(direct, 'delsPerS')).toFixed(2)],
    ['all requests', 'req/s', m(relay, 'allPerS'), m(direct, 'allPerS'), 'the same, no relay', (m(relay, 'allPerS') / m(direct, 'allPerS')).toFixed(2)],
  ];
  printTable(
    `ZDS through the relay with two proxies connected (a rolling update): ${PODS} pods per round, ${ROUNDS} rounds each way, medians; one request at a time per connection, each waiting for its Ack (istio-cni's way)`,
    ['figure', 'unit', 'relay', 'baseline', 'baseline is', 'ratio'],
    rows,
  );
} finally {
  clearTimeout(watchdog);
  runCleanup();
}
