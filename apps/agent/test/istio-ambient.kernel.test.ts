/**
 * Istio ambient's transparent network policies end to end, through the real agent (createAgent with
 * the real sklookup and cgroup-mark plugins and the istiod source):
 *   - a fake Istiod (grpc-js Delta ADS) says which workloads are HBONE mesh members;
 *   - a fake istio-cni node agent (SEQPACKET ZDS server) passes the pod's REAL netns fd to the
 *     agent, which relays it to a ztunnel-like process (its ZDS client) that opens its HBONE
 *     listener (:15008, SO_MARK 0x539) inside the pod netns; the agent discovers that listener
 *     (sock_diag + pidfd_getfd);
 *   - the ztunnel-like process lives in its own cgroup, observed by cgroup-mark.
 * Checked with real TCP, IPv4 and IPv6: mesh client -> pod:80 lands on 15008 with the original
 * destination; a non-mesh client reaches the application; the proxy's own marked connection to the
 * application is not diverted; the Istiod stream dropping and coming back changes nothing; removing
 * the workload from xDS stops the divert; the proxy exiting: its listener (which only the agent still
 * held) is let go at once, mesh connections take the normal lookup instead of hanging, and a new
 * proxy (with separate IPv4-only and IPv6-only listeners) is diverted to again, each family to its
 * own; deleting the pod (netns gone + Del over ZDS) removes its link, its entries, and every fd of
 * its netns.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Agent, createAgent } from '@bpfsteer/agent-kernel';
import { SocketHandles, createCgroup, removeCgroup, tcpListeners } from '@bpfsteer/core-bpf';
import { type Listener, NetLab, tryRun } from '@bpfsteer/netlab';
import { cgroupMarkPlugin } from '@bpfsteer/plugin-cgroup-mark';
import { type PodStatus, sklookupPlugin } from '@bpfsteer/plugin-sklookup';
import { istiodSource } from '@bpfsteer/source-istiod';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coreBpfFeatureProbe } from '../src/load-feature-probe.js';
// the fakes of the source package's own tests
import { type FakeCniConnection, FakeIstioCni } from '../../../packages/source-istiod/test/support/fake-istio-cni.js';
import { FakeIstiod, workloadResource } from '../../../packages/source-istiod/test/support/fake-istiod.js';
import { ZtunnelChild } from '../../../packages/source-istiod/test/support/ztunnel-child.js';

const POD4 = '10.93.0.2';
const POD6 = 'fd00:93::2';
const MESH4 = '10.93.0.9'; // another mesh workload (on another node)
const MESH6 = 'fd00:93::9';
const OUT4 = '10.93.0.10'; // not in the mesh
const OUT6 = 'fd00:93::10';
const NODE = 'node-a';

const suffix = `${process.pid}-${randomBytes(3).toString('hex')}`;
const POD_UID = `shop/app-${suffix}`;
const CLIENT_UID = `shop/client-${suffix}`;

const podWorkload = () => workloadResource({ uid: POD_UID, name: 'app', namespace: 'shop', addresses: [POD4, POD6], node: NODE });
const clientWorkload = () => workloadResource({ uid: CLIENT_UID, name: 'client', namespace: 'shop', addresses: [MESH4, MESH6], node: 'node-b' });

/** every log line of the agent (JSON) */
const logs: Array<{ msg: string; [k: string]: unknown }> = [];
const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
const applied = () => logs.filter((l) => l.msg === 'mesh intents applied' || l.msg === 'mesh intents refused; the previous ones stay in force').length;

/** "dev:ino" of every namespace file this process holds an fd of */
const nsfsDev = statSync('/proc/self/ns/net', { bigint: true }).dev;
const heldNetns = (): bigint[] =>
  readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      const st = statSync(`/proc/self/fd/${fd}`, { bigint: true });
      return st.dev === nsfsDev ? [st.ino] : [];
    } catch {
      return [];
    }
  });

async function until<T>(fn: () => Promise<T | undefined | false>, what: string, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timeout: ${what}`);
    await sleep(25);
  }
}

describe('Istio ambient through the agent: sklookup + cgroup-mark + istiod (xDS + ZDS)', () => {
  const lab = NetLab.create('amb');
  const listeners: Listener[] = [];
  let pod = '';
  let peer = '';
  let podNs = '';
  let podNsIno = 0n;
  let dir = '';
  let zdsPath = '';
  let cgroup = '';
  let pinRoot = '';
  let fake: FakeIstiod | undefined;
  let cni: FakeIstioCni | undefined;
  let conn: FakeCniConnection;
  let ztunnel: ZtunnelChild | undefined;
  let agent: Agent | undefined;

  const plugin = async (id: string) => (await agent!.status()).plugins.find((p) => p.id === id)!;
  const podStatus = async (): Promise<PodStatus | undefined> =>
    (((await plugin('sklookup')).details as { pods?: PodStatus[] })?.pods ?? []).find((p) => p.uid === POD_UID);
  const members = async (): Promise<number> => ((await plugin('sklookup')).details as { members: number }).members;
  const fromPeer = (source: string, host: string) => lab.exchange(peer, 'tcp', host, 80, { localAddress: source, payload: 'hi', timeoutMs: 4000 });
  /** the proxy's listeners: one dual-stack, or (after its restart) an IPv4-only and an IPv6-only one */
  let separateListeners = false;
  // a dual-stack listener sees an IPv4 destination IPv4-mapped, an IPv4-only one as it is
  const divertedTo = (dst: string) => `hbone ${POD_UID} ${dst.includes(':') || separateListeners ? dst : `::ffff:${dst}`} 80\n`;
  const makeAgent = (): Agent =>
    createAgent({
      plugins: [cgroupMarkPlugin, sklookupPlugin],
      sources: [istiodSource],
      featureProbe: coreBpfFeatureProbe,
      socketHandles: new SocketHandles(),
      logger,
      config: {
        agent: { pinRoot, adminSocket: false, logLevel: 'debug' },
        plugins: [
          { id: 'cgroup-mark', cgroup, mark: 'ambient-inpod' },
          { id: 'sklookup' }, // takes cgroup-mark's mesh_bypass from it (provides / needs)
        ],
        sources: [
          {
            type: 'istiod',
            address: fake!.address,
            node: { id: `ztunnel~10.0.0.5~bpfsteer-${suffix}.istio-system~istio-system.svc.cluster.local` },
            nodeName: NODE,
            backoff: { initialMs: 50, maxMs: 200 },
            zds: {
              listenPath: zdsPath,
              upstreamPath: cni!.path,
              backoff: { initialMs: 50, maxMs: 200 },
              hbone: { retry: { initialMs: 20, maxMs: 200, attempts: 100 }, pendingRetryMs: 200 },
            },
          },
        ],
      },
    });

  beforeAll(async () => {
    pod = lab.addNetns('pod');
    peer = lab.addNetns('peer');
    podNs = lab.nsPath(pod);
    podNsIno = statSync(podNs, { bigint: true }).ino;
    lab.addVeth(
      { netns: pod, ifname: 'eth0', addresses: [`${POD4}/24`, `${POD6}/64`] },
      { netns: peer, ifname: 'eth0', addresses: [`${MESH4}/24`, `${OUT4}/24`, `${MESH6}/64`, `${OUT6}/64`] },
    );
    listeners.push(await lab.listen(pod, 'tcp', '::', 80)); // the application
    dir = mkdtempSync(join(tmpdir(), `amb-${suffix}-`));
    zdsPath = join(dir, 'agent-zds.sock');
    cgroup = createCgroup(`bpfsteer-test-amb-${suffix}`);
    pinRoot = `/sys/fs/bpf/bpfsteer-test-amb-${suffix}`;
    fake = await FakeIstiod.start();
    cni = FakeIstioCni.listen(join(dir, 'cni.sock'));
    // the node proxy: a ZDS client of the agent, in its own cgroup
    ztunnel = ZtunnelChild.spawn({ zds: zdsPath }, { cgroup });
    agent = makeAgent();
    const started = agent.start();
    // Istiod answers the subscription; istio-cni sends its snapshot through the agent to the proxy
    await fake.subscription(1, 30_000);
    await fake.answerTo(fake.push({ resources: [podWorkload(), clientWorkload()] }));
    conn = await cni.nextConnection(30_000);
    await conn.hello;
    expect((await conn.add(POD_UID, podNs, 'app', 'shop')).error).toBe('');
    expect((await conn.snapshotSent()).error).toBe('');
    await started;
    expect((await agent.status()).plugins.map((p) => [p.id, p.state])).toEqual([
      ['cgroup-mark', 'running'],
      ['sklookup', 'running'],
    ]);
    await until(async () => Object.keys((await podStatus())?.sockets ?? {}).length === 2, 'the pod with its HBONE listener in the maps');
  });

  afterAll(async () => {
    const problems: unknown[] = [];
    const attempt = async (f: () => unknown) => {
      try {
        await f();
      } catch (err) {
        problems.push(err);
      }
    };
    await attempt(() => agent?.stop());
    await attempt(() => ztunnel?.kill());
    await attempt(() => cni?.close());
    await attempt(() => fake?.stop());
    for (const l of listeners) await attempt(() => l.close());
    await attempt(() => lab.destroy());
    if (cgroup) await attempt(() => existsSync(cgroup) && removeCgroup(cgroup));
    if (pinRoot) await attempt(() => rmSync(pinRoot, { recursive: true, force: true }));
    if (dir) await attempt(() => rmSync(dir, { recursive: true, force: true }));
    if (problems.length) throw new AggregateError(problems, 'cleanup failed');
  });

  it('the source published members and the pod with its netns and HBONE listener fds', async () => {
    const s = (await podStatus())!;
    expect(s).toMatchObject({ addresses: [POD4, POD6], netns: expect.stringMatching(/^\/proc\/self\/fd\/\d+$/) });
    expect(statSync(s.netns!, { bigint: true }).ino).toBe(podNsIno);
    expect(new Set(Object.values(s.sockets)).size).toBe(1); // one dual-stack listener for both families
    expect(await members()).toBe(4);
    expect((await plugin('sklookup')).attachments).toHaveLength(1);
    expect((await plugin('cgroup-mark')).attachments).toEqual([expect.objectContaining({ target: `cgroup ${cgroup}` })]);
  });

  it("a mesh client's connection to pod:80 lands on the proxy's 15008 with the original destination (IPv4, IPv6)", async () => {
    expect((await fromPeer(MESH4, POD4)).reply).toBe(divertedTo(POD4));
    expect((await fromPeer(MESH6, POD6)).reply).toBe(divertedTo(POD6));
    expect((await podStatus())!.counters.diverted).toBeGreaterThanOrEqual(2);
  });

  it('a non-mesh client reaches the application on :80 (IPv4, IPv6)', async () => {
    expect(await fromPeer(OUT4, POD4)).toEqual({ ok: true, reply: 'echo:hi' });
    expect(await fromPeer(OUT6, POD6)).toEqual({ ok: true, reply: 'echo:hi' });
  });

  it("the proxy's own connection to the application on :80 is not diverted (IPv4, IPv6)", async () => {
    const before = (await podStatus())!.counters.bypassed;
    expect(await ztunnel!.dial({ uid: POD_UID, host: POD4, port: 80, bind: POD4 })).toMatchObject({ ok: true, reply: 'echo:hi' });
    expect(await ztunnel!.dial({ uid: POD_UID, host: POD6, port: 80, bind: POD6 })).toMatchObject({ ok: true, reply: 'echo:hi' });
    expect((await podStatus())!.counters.bypassed - before).toBe(2);
    // the same process without its mark is diverted like any mesh connection: the mark is what counts
    expect(await ztunnel!.dial({ uid: POD_UID, host: POD4, port: 80, bind: POD4, mark: 0 })).toMatchObject({ ok: true, reply: divertedTo(POD4).trim() });
    expect(((await plugin('cgroup-mark')).details as { stats: { recorded: number } }).stats.recorded).toBeGreaterThanOrEqual(2);
  });

  it('the Istiod stream dropping and coming back changes nothing', async () => {
    const commits = applied();
    fake!.dropStreams();
    expect((await fromPeer(MESH4, POD4)).reply).toBe(divertedTo(POD4)); // while Istiod is away
    const resubscribe = await fake!.subscription(2, 10_000);
    expect(Object.keys(resubscribe.request.initial_resource_versions ?? {}).sort()).toEqual([CLIENT_UID, POD_UID].sort());
    await fake!.answerTo(fake!.push({ resources: [podWorkload(), clientWorkload()] }));
    await sleep(300);
    expect(applied()).toBe(commits);
    expect((await fromPeer(MESH6, POD6)).reply).toBe(divertedTo(POD6));
    expect(await members()).toBe(4);
  });

  it('removing the workload from xDS stops the divert at once; adding it back restores it', async () => {
    await fake!.answerTo(fake!.push({ removed_resources: [POD_UID] }));
    await until(async () => (await members()) === 2, 'the pod addresses leave the members');
    expect(await fromPeer(MESH4, POD4)).toEqual({ ok: true, reply: 'echo:hi' });
    expect(await fromPeer(MESH6, POD6)).toEqual({ ok: true, reply: 'echo:hi' });
    await fake!.answerTo(fake!.push({ resources: [podWorkload()] }));
    await until(async () => (await members()) === 4, 'the pod addresses are members again');
    expect((await fromPeer(MESH4, POD4)).reply).toBe(divertedTo(POD4));
  });

  it('a response with a malformed resource: the client workload beside it is applied (its connections diverted again) and the NACK names only the bad one (issue 11)', async () => {
    await fake!.answerTo(fake!.push({ removed_resources: [CLIENT_UID] }));
    await until(async () => (await members()) === 2, 'the client leaves the members');
    expect(await fromPeer(MESH4, POD4)).toEqual({ ok: true, reply: 'echo:hi' }); // a non-member now
    const broken = { name: 'shop/broken', version: '1', resource: { type_url: 'type.googleapis.com/istio.workload.Address', value: Buffer.from([0x0a, 0x7f, 0x01]) } };
    const answer = await fake!.answerTo(fake!.push({ resources: [broken, clientWorkload()] }));
    expect(answer.role).toBe('nack');
    expect(answer.request.error_detail?.message).toMatch(/^resource "shop\/broken" does not decode as istio\.workload\.Address/);
    await until(async () => (await members()) === 4, 'the client is a member again');
    expect((await fromPeer(MESH4, POD4)).reply).toBe(divertedTo(POD4));
    expect((await fromPeer(MESH6, POD6)).reply).toBe(divertedTo(POD6));
  });

  it("a workload of another network holding the non-mesh client's IPs is no member: that client still reaches the application (issue 11)", async () => {
    const commits = applied();
    const elsewhere = workloadResource({ uid: 'shop/elsewhere', addresses: [OUT4, OUT6], network: 'network2', node: 'node-z' });
    expect((await fake!.answerTo(fake!.push({ resources: [elsewhere] }))).role).toBe('ack');
    await sleep(300);
    expect(applied()).toBe(commits); // the view did not change: nothing committed
    expect(await members()).toBe(4);
    expect(await fromPeer(OUT4, POD4)).toEqual({ ok: true, reply: 'echo:hi' });
    expect(await fromPeer(OUT6, POD6)).toEqual({ ok: true, reply: 'echo:hi' });
    expect((await fake!.answerTo(fake!.push({ removed_resources: ['shop/elsewhere'] }))).role).toBe('ack');
  });

  it('a rolling update of the proxy (istio-cni serves both: a snapshot each, new pods to the newest, deletions to all): the divert is never interrupted, a pod added and removed meanwhile reaches both, the old proxy leaves after the new one is ready (issue 11)', async () => {
    const old = ztunnel!;
    const oldConn = conn;
    const noSocketBefore = (await podStatus())!.counters.noSocket;
    // mesh connections all through the rollout: each must be diverted (to whichever proxy)
    const failures: string[] = [];
    let probes = 0;
    let probing = true;
    const prober = (async () => {
      while (probing) {
        const [src, dst] = probes % 2 === 0 ? [MESH4, POD4] : [MESH6, POD6];
        const r = await fromPeer(src, dst);
        if (r.reply !== divertedTo(dst)) failures.push(`${dst}: ${JSON.stringify(r)}`);
        probes += 1;
        await sleep(20);
      }
    })();
    try {
      // the new proxy connects beside the old one (maxSurge 1): its own session, its own snapshot
      const fresh = ZtunnelChild.spawn({ zds: zdsPath }, { cgroup });
      ztunnel = fresh;
      const freshConn = await cni!.nextConnection(30_000);
      await freshConn.hello;
      expect((await freshConn.add(POD_UID, podNs, 'app', 'shop')).error).toBe('');
      expect((await freshConn.snapshotSent()).error).toBe('');
      conn = freshConn;
      // the new proxy's listener is taken (the newest socket) once it acknowledged the pod
      await until(async () => fresh.of('served').length > 0, 'a mesh connection served by the new proxy');
      // a pod added meanwhile goes to the newest connection only; its deletion to every connection
      const pod2 = lab.addNetns('pod2');
      lab.addVeth({ netns: pod2, ifname: 'eth0', addresses: ['10.93.2.2/24'] }, { netns: peer, ifname: 'eth2', addresses: ['10.93.2.9/24'] });
      const uid2 = `shop/app2-${suffix}`;
      expect((await freshConn.add(uid2, lab.nsPath(pod2), 'app2', 'shop')).error).toBe('');
      await fresh.waitFor((e) => e.event === 'add' && e.uid === uid2);
      const pod2Status = async () => (((await plugin('sklookup')).details as { pods?: PodStatus[] })?.pods ?? []).find((p) => p.uid === uid2);
      await until(async () => Object.keys((await pod2Status())?.sockets ?? {}).length > 0, 'the added pod diverted to the new proxy');
      expect((await oldConn.del(uid2)).error).toBe('');
      expect((await freshConn.del(uid2)).error).toBe('');
      await old.waitFor((e) => e.event === 'del' && e.uid === uid2);
      await fresh.waitFor((e) => e.event === 'del' && e.uid === uid2);
      await until(async () => (await pod2Status()) === undefined, 'the deleted pod gone from the maps');
      // the old proxy leaves (its pod's listeners with it)
      const servedByOld = old.of('served').length;
      await old.kill();
      await oldConn.ended;
      const probesThen = probes;
      await until(async () => probes >= probesThen + 6, 'mesh connections after the old proxy left');
      expect(old.of('served').length).toBe(servedByOld);
      expect((await podStatus())!.counters.noSocket).toBe(noSocketBefore); // no connection met a missing listener
    } finally {
      probing = false;
      await prober;
    }
    expect(failures).toEqual([]);
    expect(probes).toBeGreaterThan(6);
    expect(ztunnel.of('served').length).toBeGreaterThan(0);
    expect(await ztunnel.dial({ uid: POD_UID, host: POD4, port: 80, bind: POD4 })).toMatchObject({ ok: true, reply: 'echo:hi' }); // the new proxy's mark bypasses
  });

  it('the proxy restarting refuses a pod of its snapshot (ztunnel keeps and retries it, istio-cni does not send it again): the agent keeps it pending and diverts to it once the proxy serves it (issue 11)', async () => {
    const POD3 = '10.93.3.2';
    const CLIENT3 = '10.93.3.9';
    const uid3 = `shop/app3-${suffix}`;
    const pod3 = lab.addNetns('pod3');
    lab.addVeth({ netns: pod3, ifname: 'eth0', addresses: [`${POD3}/24`] }, { netns: peer, ifname: 'eth3', addresses: [`${CLIENT3}/24`] });
    listeners.push(await lab.listen(pod3, 'tcp', '::', 80));
    const workloads = [
      workloadResource({ uid: uid3, name: 'app3', namespace: 'shop', addresses: [POD3], node: NODE }),
      workloadResource({ uid: `shop/client3-${suffix}`, name: 'client3', namespace: 'shop', addresses: [CLIENT3], node: 'node-b' }),
    ];
    expect((await fake!.answerTo(fake!.push({ resources: workloads }))).role).toBe('ack');
    const pod3Status = async () => (((await plugin('sklookup')).details as { pods?: PodStatus[] })?.pods ?? []).find((p) => p.uid === uid3);
    // the proxy restarts; the new one cannot start pod 3 at first (it retries it 1.5 s later, saying nothing)
    await ztunnel!.kill();
    const fresh = ZtunnelChild.spawn({ zds: zdsPath, 'fail-first': uid3, 'retry-ms': '1500' }, { cgroup });
    ztunnel = fresh;
    conn = await cni!.nextConnection(30_000);
    await conn.hello;
    expect((await conn.add(POD_UID, podNs, 'app', 'shop')).error).toBe('');
    expect((await conn.add(uid3, lab.nsPath(pod3), 'app3', 'shop')).error).toMatch(/^failure to start proxy/);
    expect((await conn.snapshotSent()).error).toBe('');
    await until(async () => Object.keys((await podStatus())?.sockets ?? {}).length === 2, 'pod 1 on the new proxy');
    expect(await pod3Status()).toBeUndefined(); // refused: not diverted (yet)
    expect(await fromPeer(CLIENT3, POD3)).toEqual({ ok: true, reply: 'echo:hi' });
    await fresh.waitFor((e) => e.event === 'retried' && e.uid === uid3, 1, 10_000);
    await until(async () => Object.keys((await pod3Status())?.sockets ?? {}).length > 0, 'pod 3 diverted once the proxy serves it', 10_000);
    expect((await fromPeer(CLIENT3, POD3)).reply).toBe(`hbone ${uid3} ::ffff:${POD3} 80\n`);
    expect(logs.some((l) => l.msg === 'the proxy serves a pod it had refused (its listener is there): confirmed')).toBe(true);
    // pod 3 goes again (Del to the connection, its workloads from xDS)
    expect((await conn.del(uid3)).error).toBe('');
    await until(async () => (await pod3Status()) === undefined, 'pod 3 gone');
    expect((await fake!.answerTo(fake!.push({ removed_resources: [uid3, `shop/client3-${suffix}`] }))).role).toBe('ack');
  });

  it('the proxy exiting: its listener is let go, mesh connections reach the application instead of hanging; the proxy back (separate IPv4/IPv6 listeners): diverted again', async () => {
    const before = (await podStatus())!;
    expect(Object.keys(before.sockets)).toHaveLength(2);
    const noSocket = before.counters.noSocket;
    await ztunnel!.kill();
    // the ZDS session ended: the listener only the agent still held is let go, its entries dropped
    await until(async () => (await podStatus()) && Object.keys((await podStatus())!.sockets).length === 0, "the dead proxy's listener dropped from the maps");
    expect((await podStatus())!.pinned).toBe(before.pinned); // the pod keeps its link and addresses
    expect(await members()).toBe(4);
    // nothing listens on 15008 in the pod any more: the agent closed every duplicate it had
    await until(async () => tcpListeners({ netns: podNs, port: 15008 }).length === 0, 'the dead listener closed');
    // new mesh connections take the normal lookup: the application answers (fail-open, see the plugin README)
    expect(await fromPeer(MESH4, POD4)).toEqual({ ok: true, reply: 'echo:hi' });
    expect(await fromPeer(MESH6, POD6)).toEqual({ ok: true, reply: 'echo:hi' });
    expect((await podStatus())!.counters.noSocket - noSocket).toBe(2);
    // the proxy comes back, this time with separate IPv4-only and IPv6-only listeners; istio-cni
    // sends its snapshot through the agent again
    ztunnel = ZtunnelChild.spawn({ zds: zdsPath, listeners: 'separate' }, { cgroup });
    separateListeners = true;
    conn = await cni!.nextConnection(30_000);
    await conn.hello;
    expect((await conn.add(POD_UID, podNs, 'app', 'shop')).error).toBe('');
    expect((await conn.snapshotSent()).error).toBe('');
    await until(async () => new Set(Object.values((await podStatus())?.sockets ?? {})).size === 2, 'both new listeners in the maps');
    expect((await fromPeer(MESH4, POD4)).reply).toBe(divertedTo(POD4)); // the IPv4-only listener took it
    expect((await fromPeer(MESH6, POD6)).reply).toBe(divertedTo(POD6));
    expect(await fromPeer(OUT4, POD4)).toEqual({ ok: true, reply: 'echo:hi' });
    expect(await ztunnel!.dial({ uid: POD_UID, host: POD4, port: 80, bind: POD4 })).toMatchObject({ ok: true, reply: 'echo:hi' });
    expect(await ztunnel!.dial({ uid: POD_UID, host: POD6, port: 80, bind: POD6 })).toMatchObject({ ok: true, reply: 'echo:hi' });
  });

  it('an agent restart (keepPinned) keeps diverting and re-learns the pod over ZDS without a gap', async () => {
    const pinned = (await podStatus())!.pinned!;
    await agent!.stop({ keepPinned: true });
    expect((await fromPeer(MESH4, POD4)).reply).toBe(divertedTo(POD4)); // nobody runs: the pins divert
    const streams = fake!.streamCount;
    agent = makeAgent();
    const started = agent.start();
    await fake!.subscription(streams + 1, 30_000);
    await fake!.answerTo(fake!.push({ resources: [podWorkload(), clientWorkload()] }));
    // Istiod answered, the pods have not synced yet: nothing is published, the adopted pins divert
    await sleep(300);
    expect((await fromPeer(MESH6, POD6)).reply).toBe(divertedTo(POD6));
    // the proxy reconnected to the new agent, which relays it to istio-cni: a fresh snapshot
    conn = await cni!.nextConnection(30_000);
    await conn.hello;
    expect((await conn.add(POD_UID, podNs, 'app', 'shop')).error).toBe('');
    expect((await conn.snapshotSent()).error).toBe('');
    await started;
    await until(async () => Object.keys((await podStatus())?.sockets ?? {}).length === 2 && (await podStatus())?.netns !== undefined, 'the pod re-learned');
    expect((await podStatus())!.pinned).toBe(pinned); // re-adopted, not re-created
    const links = JSON.parse(tryRun(['bpftool', 'link', 'show', '-j']).stdout || '[]') as { type: string; netns_ino?: number }[];
    expect(links.filter((l) => l.type === 'netns' && BigInt(l.netns_ino ?? -1) === podNsIno)).toHaveLength(1);
    expect((await fromPeer(MESH4, POD4)).reply).toBe(divertedTo(POD4));
    expect(await fromPeer(OUT6, POD6)).toEqual({ ok: true, reply: 'echo:hi' });
    expect(await ztunnel!.dial({ uid: POD_UID, host: POD4, port: 80, bind: POD4 })).toMatchObject({ ok: true, reply: 'echo:hi' });
  });

  it('deleting the pod (netns removed, Del over ZDS) removes its link, its entries and every fd of its netns', async () => {
    const pinned = (await podStatus())!.pinned!;
    expect(existsSync(pinned)).toBe(true);
    expect(heldNetns()).toContain(podNsIno);
    // the pod's processes end and its netns is deleted; the ztunnel-like proxy and the agent still hold it
    for (const l of listeners.splice(0)) l.close();
    tryRun(['ip', 'netns', 'del', pod]);
    await sleep(100);
    expect((await conn.del(POD_UID)).error).toBe('');
    await until(async () => (await podStatus()) === undefined, 'the pod leaves the sklookup plugin');
    expect(existsSync(pinned)).toBe(false);
    expect((await plugin('sklookup')).attachments).toEqual([]);
    const maps = Object.fromEntries((await plugin('sklookup')).maps.map((m) => [m.name, m.entries]));
    expect(maps).toMatchObject({ skl_pods: 0, skl_sockets: 0, skl_members: 4 });
    // the commit without the pod succeeded: the source closed its netns and listener fds
    await until(async () => !heldNetns().includes(podNsIno), 'no fd of the pod netns left in the agent');
    const links = JSON.parse(tryRun(['bpftool', 'link', 'show', '-j']).stdout || '[]') as { type: string; netns_ino?: number }[];
    expect(links.filter((l) => l.type === 'netns' && BigInt(l.netns_ino ?? -1) === podNsIno)).toEqual([]);
    expect(conn.unexpected).toEqual([]);
  });
});
