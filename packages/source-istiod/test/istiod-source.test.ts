/** The istiod source against a fake Istiod: what it publishes, and when. No kernel. */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type Intent, type IntentSink, MetricsRegistry } from '@bpfsteer/agent-kernel';
import { ISTIOD_UNREACHABLE, istiodSource, istiodSourceConfigSchema } from '../src/index.js';
import { FakeIstiod, serviceResource, workloadResource } from './support/fake-istiod.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

const schemas = new Map<string, z.ZodType>([
  ['mesh.member', z.strictObject({ address: z.string() })],
]);

async function startSource(intentSchemas: ReadonlyMap<string, z.ZodType> = schemas, refuseFirst = false, extra: Record<string, unknown> = {}) {
  const fake = await FakeIstiod.start();
  cleanups.push(() => fake.stop());
  const config = istiodSourceConfigSchema.parse({
    address: fake.address,
    node: { id: 'ztunnel~10.0.0.5~bpfsteer-test.istio-system~istio-system.svc.cluster.local' },
    nodeName: 'node-a',
    backoff: { initialMs: 20, maxMs: 100 },
    ...extra,
  });
  const controller = new AbortController();
  const problems: [string, string | undefined][] = [];
  const source = istiodSource.create(config, {
    logger: pino({ level: 'silent' }),
    signal: controller.signal,
    intentSchemas,
    metrics: new MetricsRegistry(),
    describe: async () => undefined,
    consumers: () => [],
    watch: () => () => {},
    problem: (name, message) => void problems.push([name, message]),
  });
  const snapshots: Intent[][] = [];
  const sink: IntentSink = {
    publish: (intents) => void snapshots.push([...intents]),
    commit: async (intents) => {
      snapshots.push([...intents]);
      if (refuseFirst && snapshots.length === 1) return { ok: false, reason: 'failed', error: 'plugin said no' };
      return { ok: true, report: { added: intents.length, updated: 0, removed: 0 } };
    },
    publishChange: () => undefined, // this source commits snapshots only
    commitChange: async () => ({ ok: false, reason: 'invalid', error: 'not used' }),
  };
  await source.start(sink);
  cleanups.push(() => source.stop());
  return { fake, snapshots, problems };
}

describe('istiodSource', () => {
  it('publishes nothing until Istiod answers, then the members', async () => {
    const { fake, snapshots } = await startSource();
    await fake.subscription(1);
    expect(snapshots).toHaveLength(0);
    await fake.answerTo(
      fake.push({
        resources: [
          workloadResource({ uid: 'w1', name: 'pod-1', namespace: 'shop', addresses: ['10.0.0.1', 'fd00::1'], node: 'node-a' }),
          workloadResource({ uid: 'w2', addresses: ['10.0.0.2'], node: 'node-b' }),
          workloadResource({ uid: 'w3', addresses: ['10.0.0.3'], node: 'node-a', tunnelProtocol: 'NONE' }),
        ],
      }),
    );
    // members in the order they joined (the order of the response)
    expect(snapshots).toEqual([
      [
        { kind: 'mesh.member', address: '10.0.0.1' },
        { kind: 'mesh.member', address: 'fd00::1' },
        { kind: 'mesh.member', address: '10.0.0.2' },
      ],
    ]);

    // a change that does not alter the view publishes nothing; one that does publishes again
    await fake.answerTo(fake.push({ resources: [serviceResource({ namespace: 'shop', hostname: 'cart.shop.svc' })] }));
    expect(snapshots).toHaveLength(1);
    await fake.answerTo(fake.push({ removed_resources: ['w1'] }));
    expect(snapshots.at(-1)).toEqual([{ kind: 'mesh.member', address: '10.0.0.2' }]);

    // the stream dropping and coming back publishes nothing
    fake.dropStreams();
    await fake.subscription(2);
    expect(snapshots).toHaveLength(2);
  });

  it('reports IstiodUnreachable while no stream is answered, not when an answered stream ends', async () => {
    const { fake, problems } = await startSource();
    await fake.subscription(1);
    await fake.answerTo(fake.push({ resources: [workloadResource({ uid: 'w1', addresses: ['10.0.0.1'], node: 'node-a' })] }));
    expect(problems).toEqual([[ISTIOD_UNREACHABLE, undefined]]);
    // Istiod ends the stream (as at its maximum connection age) and answers the next: no problem
    fake.dropStreams();
    await fake.subscription(2);
    await fake.answerTo(fake.push({ resources: [] }));
    expect(problems.filter(([, message]) => message !== undefined)).toEqual([]);
    // Istiod gone: the reconnect is not answered
    await fake.stop();
    await expect.poll(() => problems.at(-1), { timeout: 5000 }).toEqual([ISTIOD_UNREACHABLE, expect.stringMatching(/^127\.0\.0\.1:\d+: stream ended: UNAVAILABLE/)]);
  });

  it('publishes only the kinds a configured plugin consumes', async () => {
    const { fake, snapshots } = await startSource(new Map([['mesh.member', z.strictObject({ address: z.string() })]]));
    await fake.subscription(1);
    await fake.answerTo(fake.push({ resources: [workloadResource({ uid: 'w1', addresses: ['10.0.0.1'], node: 'node-a' })] }));
    expect(snapshots).toEqual([[{ kind: 'mesh.member', address: '10.0.0.1' }]]);
  });

  it('commits the same intents again on the next change after a refused commit', async () => {
    const { fake, snapshots } = await startSource(schemas, true);
    await fake.subscription(1);
    await fake.answerTo(fake.push({ resources: [workloadResource({ uid: 'w1', addresses: ['10.0.0.1'], node: 'node-b' })] }));
    expect(snapshots).toHaveLength(1);
    await new Promise((resolve) => setImmediate(resolve));
    // a change that leaves the view as it was: committed again, since the last commit was refused
    await fake.answerTo(fake.push({ resources: [serviceResource({ namespace: 'ns', hostname: 'h.ns.svc' })] }));
    expect(snapshots).toEqual([[{ kind: 'mesh.member', address: '10.0.0.1' }], [{ kind: 'mesh.member', address: '10.0.0.1' }]]);
  });

  it('with network set, members are the workloads of that network only: an overlapping IP of another network is not one', async () => {
    const { fake, snapshots } = await startSource(schemas, false, { network: 'net1' });
    await fake.subscription(1);
    await fake.answerTo(
      fake.push({
        resources: [
          workloadResource({ uid: 'here', addresses: ['10.0.0.1'], network: 'net1' }),
          workloadResource({ uid: 'there', addresses: ['10.0.0.1', '10.0.0.2'], network: 'net2' }),
          workloadResource({ uid: 'default-net', addresses: ['10.0.0.3'] }),
        ],
      }),
    );
    expect(snapshots).toEqual([[{ kind: 'mesh.member', address: '10.0.0.1' }]]);
    // the workload of net1 goes: 10.0.0.1 is no member any more, although net2 still has it
    await fake.answerTo(fake.push({ removed_resources: ['here'] }));
    expect(snapshots.at(-1)).toEqual([]);
  });

  it('without node.id, the node is made from the environment as ztunnel makes its own (a DaemonSet\'s downward API); without that either, start fails naming what to set', async () => {
    const saved = { INSTANCE_IP: process.env.INSTANCE_IP, POD_NAME: process.env.POD_NAME, POD_NAMESPACE: process.env.POD_NAMESPACE };
    try {
      Object.assign(process.env, { INSTANCE_IP: '10.0.0.7', POD_NAME: 'bpfsteer-abc', POD_NAMESPACE: 'istio-system' });
      const { fake } = await startSource(schemas, false, { node: { metadata: { CLUSTER_ID: 'c1' } } });
      const subscribe = await fake.subscription(1);
      expect(subscribe.request.node?.id).toBe('ztunnel~10.0.0.7~bpfsteer-abc.istio-system~istio-system.svc.cluster.local');
      expect(JSON.stringify(subscribe.request.node?.metadata)).toContain('bpfsteer-abc');
      expect(JSON.stringify(subscribe.request.node?.metadata)).toContain('c1');
      delete process.env.INSTANCE_IP;
      await expect(startSource(schemas, false, { node: {} })).rejects.toThrow(/node\.id: not set, and the environment does not give it.*INSTANCE_IP is not set \(status\.podIP\)/);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('rejects a config with unknown fields or a token without TLS', () => {
    expect(istiodSourceConfigSchema.safeParse({ address: 'a:1', node: { id: 'ztunnel~10.0.0.5~bpfsteer-test.istio-system~istio-system.svc.cluster.local' }, nodename: 'x' }).success).toBe(false);
    expect(istiodSourceConfigSchema.safeParse({ address: 'a:1', node: { id: 'ztunnel~10.0.0.5~bpfsteer-test.istio-system~istio-system.svc.cluster.local' }, tokenFile: '/t' }).success).toBe(false);
    expect(istiodSourceConfigSchema.safeParse({ address: 'a:1', node: { id: 'ztunnel~10.0.0.5~bpfsteer-test.istio-system~istio-system.svc.cluster.local' }, nodeName: 'node-a' }).success).toBe(true);
  });
});

describe('istiodSource.claims', () => {
  it('claims the sockets it listens on (ZDS, HBONE registration), not the one it connects to', () => {
    const base = { address: 'istiod:15012', node: { id: 'ztunnel~10.0.0.5~bpfsteer-test.istio-system~istio-system.svc.cluster.local' } };
    expect(istiodSource.claims!(istiodSourceConfigSchema.parse(base))).toEqual([]);
    const config = istiodSourceConfigSchema.parse({
      ...base,
      zds: { listenPath: '/run/zds.sock', hbone: { registration: { path: '/run/hbone.sock' } } },
    });
    expect(istiodSource.claims!(config)).toEqual([
      { path: '/run/zds.sock', what: 'ZDS socket', field: ['zds', 'listenPath'] },
      { path: '/run/hbone.sock', what: 'HBONE registration socket', field: ['zds', 'hbone', 'registration', 'path'] },
    ]);
  });
});
