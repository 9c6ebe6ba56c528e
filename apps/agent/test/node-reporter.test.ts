/**
 * The Kubernetes node reporter with a real agent (no plugins that touch the kernel) against a local
 * HTTPS server speaking the Kubernetes API (support/fake-kube-apiserver.ts), through the in-cluster
 * config: Events on the Node, the BpfsteerDegraded condition, the watch of the Node (relist after 410,
 * a condition lost or changed is written again), retries, and `bpfsteer run --kubernetes`.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import 'reflect-metadata';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type Agent, ConfigError, createAgent, createLogger, type PluginFactory, staticSourceModule } from '@bpfsteer/agent-kernel';
import { istiodSourceModule } from '@bpfsteer/source-istiod';
import { CONDITION_TYPE } from '../src/kubernetes/node-condition.js';
import { AMBIENT_DEFAULTS } from '../src/manifests/ambient-agent-config.js';
import { ambientManifests } from '../src/manifests/ambient-manifests.js';
import { NodeReporter, SERVICE_ACCOUNT_DIR } from '../src/kubernetes/node-reporter.js';
import { FakeKubeApiServer, makeServerCertificate } from './support/fake-kube-apiserver.js';
import { spawnBpfsteer } from './support/spawn-bpfsteer.js';

const NODE = 'worker-1';
const TOKEN = 'token-of-the-agent-service-account';
let dir: string;
let root: string;
let tls: { key: string; cert: string };
let api: FakeKubeApiServer;
const cleanups: (() => Promise<unknown> | void)[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bpfsteer-node-reporter-'));
  const certificate = await makeServerCertificate(dir);
  tls = certificate;
  // the pod's service-account mount, under a root of the test's own
  root = join(dir, 'root');
  const sa = join(root, SERVICE_ACCOUNT_DIR);
  await mkdir(sa, { recursive: true });
  await writeFile(join(sa, 'token'), TOKEN);
  await writeFile(join(sa, 'ca.crt'), certificate.ca);
  await writeFile(join(sa, 'namespace'), 'bpfsteer-system');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const savedEnv = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
beforeEach(async () => {
  api = await FakeKubeApiServer.start(tls, TOKEN);
  api.addNode(NODE);
  process.env.KUBERNETES_SERVICE_HOST = '127.0.0.1';
  process.env.KUBERNETES_SERVICE_PORT = String(api.port);
});
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  while (cleanups.length) await cleanups.pop()?.();
  await api.stop();
  restoreEnv('KUBERNETES_SERVICE_HOST', savedEnv.host);
  restoreEnv('KUBERNETES_SERVICE_PORT', savedEnv.port);
});

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

const quiet = createLogger({ level: 'silent' });

/** A plugin whose creation fails (as one whose kernel object cannot load). */
const brokenPlugin: PluginFactory<unknown> = {
  id: 'broken',
  description: 'fails at create',
  configSchema: z.looseObject({}),
  intents: {},
  requires: [],
  create() {
    throw new Error('bpf object broken.bpf.o: cannot load');
  },
};

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function makeAgent(config: Record<string, unknown>, plugins: PluginFactory<unknown>[] = []): Agent {
  const agent = createAgent({
    modules: [staticSourceModule(), istiodSourceModule],
    plugins,
    logger: quiet,
    config: { ...config, agent: { adminSocket: false, pinRoot: '/sys/fs/bpf/bpfsteer-node-reporter-test', timeouts: { openMs: 1000 } } },
  });
  cleanups.push(() => agent.stop());
  return agent;
}

async function startReporter(agent: Agent, options: Partial<Parameters<typeof NodeReporter.start>[1]> = {}): Promise<NodeReporter> {
  const reporter = await NodeReporter.start(agent, { nodeName: NODE, root, logger: quiet, retryMs: { initial: 20, max: 200 }, closeMs: 3000, ...options });
  cleanups.push(() => reporter.close());
  return reporter;
}

/** The RBAC verb and resource of a request the reporter made (as the API server's authorizer sees it). */
function verbAndResource(method: string, url: string): [string, string] {
  const { pathname, searchParams } = new URL(url, 'https://x');
  const resource = pathname.endsWith('/status') ? 'nodes/status' : pathname.includes('/events') ? 'events' : 'nodes';
  const named = /\/(nodes|events)\/[^/]+/.test(pathname);
  const verb =
    method === 'GET' ? (searchParams.get('watch') === 'true' ? 'watch' : named ? 'get' : 'list') : method === 'POST' ? 'create' : method.toLowerCase();
  return [verb, resource];
}

const events = () => [...api.events.values()].map((e) => ({ type: e.type, reason: e.reason, message: e.message, count: e.count }));
const condition = () => api.condition(NODE, CONDITION_TYPE);

describe('node reporter', { timeout: 20_000 }, () => {
  it('records AgentStarted and a healthy condition; on close AgentStopping and Unknown/AgentStopped', async () => {
    const agent = makeAgent({ sources: [{ type: 'static' }] });
    const reporter = await startReporter(agent);
    await agent.start();
    await expect.poll(condition, { timeout: 5000 }).toMatchObject({ status: 'False', reason: 'AgentHealthy' });
    await expect.poll(events, { timeout: 5000 }).toEqual([{ type: 'Normal', reason: 'AgentStarted', message: 'bpfsteer agent running', count: 1 }]);
    const event = [...api.events.values()][0]!;
    // as the kubelet records node events: namespace default, the Node (with its uid) involved
    expect(event).toMatchObject({
      metadata: { namespace: 'default', name: expect.stringMatching(new RegExp(`^${NODE}\\.[0-9a-f]+$`)) },
      involvedObject: { apiVersion: 'v1', kind: 'Node', name: NODE, uid: (api.nodes.get(NODE)!.metadata as { uid: string }).uid },
      source: { component: 'bpfsteer-agent', host: NODE },
    });
    // the kubelet's own condition is untouched (strategic merge by type)
    expect(api.condition(NODE, 'Ready')).toMatchObject({ status: 'True', reason: 'KubeletReady' });
    const healthyAt = condition()!.lastTransitionTime;

    await agent.stop();
    await reporter.close();
    expect(condition()).toMatchObject({ status: 'Unknown', reason: 'AgentStopped' });
    expect(condition()!.lastTransitionTime).not.toBe(healthyAt);
    expect(events().map((e) => e.reason)).toEqual(['AgentStarted', 'AgentStopping']);
    await expect.poll(() => api.openWatches, { timeout: 5000 }).toBe(0);
  });

  it('records PluginFailed and IstiodUnreachable, and shows them in the condition', async () => {
    const port = await closedPort();
    const agent = makeAgent(
      {
        plugins: [{ id: 'broken' }],
        sources: [
          {
            type: 'istiod',
            address: `127.0.0.1:${port}`,
            node: { id: 'ztunnel~10.0.0.5~bpfsteer-a.istio-system~istio-system.svc.cluster.local' },
            backoff: { initialMs: 50, maxMs: 200 },
          },
        ],
      },
      [brokenPlugin],
    );
    await startReporter(agent);
    await agent.start();
    await expect.poll(() => events().map((e) => e.reason).sort(), { timeout: 5000 }).toEqual(['AgentStarted', 'IstiodUnreachable', 'PluginFailed']);
    expect(events()).toEqual(
      expect.arrayContaining([
        { type: 'Warning', reason: 'PluginFailed', message: 'plugin broken failed: create failed: bpf object broken.bpf.o: cannot load', count: 1 },
        { type: 'Warning', reason: 'IstiodUnreachable', message: expect.stringMatching(new RegExp(`^istiod#0: 127\\.0\\.0\\.1:${port}: stream ended: UNAVAILABLE`)), count: 1 },
        { type: 'Warning', reason: 'AgentStarted', message: 'bpfsteer agent running; failed: plugin broken', count: 1 },
      ]),
    );
    await expect.poll(condition, { timeout: 5000 }).toMatchObject({
      status: 'True',
      reason: 'PluginFailed',
      message: expect.stringMatching(/^plugins failed: broken; istiod#0: IstiodUnreachable since \S+: 127\.0\.0\.1:\d+: stream ended: UNAVAILABLE/),
    });
  });

  it('counts up a repeated event instead of recording a new one', async () => {
    const agent = makeAgent({ sources: [{ type: 'static' }] });
    await startReporter(agent);
    await agent.start();
    await expect.poll(events, { timeout: 5000 }).toHaveLength(1);
    const problem = { source: 'static#0', problem: 'ControlPlaneUnreachable', message: 'connect ECONNREFUSED', since: new Date().toISOString() };
    agent.events.emit({ type: 'source-problem', problem });
    agent.events.emit({ type: 'source-problem-cleared', source: 'static#0', problem: 'ControlPlaneUnreachable' });
    agent.events.emit({ type: 'source-problem', problem });
    await expect.poll(() => events().find((e) => e.reason === 'ControlPlaneUnreachable')?.count, { timeout: 5000 }).toBe(2);
    expect(events().map((e) => e.reason).sort()).toEqual(['AgentStarted', 'ControlPlaneUnreachable', 'ProblemCleared']);
    expect(api.requests.filter((r) => r.method === 'PATCH' && r.url.includes('/events/'))).toHaveLength(1);
  });

  it('watches its Node: a condition removed or changed by another writer, or lost with a re-registered Node, is written again', async () => {
    const agent = makeAgent({ sources: [{ type: 'static' }] });
    await startReporter(agent);
    await agent.start();
    await expect.poll(condition, { timeout: 5000 }).toMatchObject({ reason: 'AgentHealthy' });
    await expect.poll(() => api.openWatches, { timeout: 5000 }).toBe(1);

    api.editNode(NODE, (n) => {
      const status = n.status as { conditions: { type: string }[] };
      status.conditions = status.conditions.filter((c) => c.type !== CONDITION_TYPE);
    });
    await expect.poll(condition, { timeout: 5000 }).toMatchObject({ reason: 'AgentHealthy' });

    api.editNode(NODE, (n) => {
      const c = (n.status as { conditions: Record<string, unknown>[] }).conditions.find((x) => x.type === CONDITION_TYPE)!;
      c.status = 'True';
      c.reason = 'SomeoneElse';
    });
    await expect.poll(condition, { timeout: 5000 }).toMatchObject({ status: 'False', reason: 'AgentHealthy' });

    api.deleteNode(NODE);
    api.addNode(NODE);
    expect(condition()).toBeUndefined();
    await expect.poll(condition, { timeout: 5000 }).toMatchObject({ status: 'False', reason: 'AgentHealthy' });
  });

  it('after a watch is refused with 410 Expired, lists again and goes on watching', async () => {
    const agent = makeAgent({ sources: [{ type: 'static' }] });
    await startReporter(agent);
    await agent.start();
    await expect.poll(() => api.openWatches, { timeout: 5000 }).toBe(1);
    const lists = () => api.requests.filter((r) => r.method === 'GET' && r.url.startsWith('/api/v1/nodes?') && !r.url.includes('watch=true')).length;
    expect(lists()).toBe(1);

    // history compacted, watches ended: the reconnect from the old resourceVersion gets 410
    api.compact();
    api.endWatches();
    await expect.poll(lists, { timeout: 5000 }).toBe(2);
    await expect.poll(() => api.openWatches, { timeout: 5000 }).toBe(1);
    const watches = api.requests.filter((r) => r.url.includes('watch=true')).map((r) => new URL(r.url, 'https://x').searchParams.get('resourceVersion'));
    expect(watches).toHaveLength(3); // the first, the refused one, the one after the relist
    expect(Number(watches[2])).toBeGreaterThanOrEqual(Number(watches[1]));
    // and it still sees its Node change
    api.editNode(NODE, (n) => {
      const status = n.status as { conditions: { type: string }[] };
      status.conditions = status.conditions.filter((c) => c.type !== CONDITION_TYPE);
    });
    await expect.poll(condition, { timeout: 5000 }).toMatchObject({ reason: 'AgentHealthy' });
  });

  it('retries what the API server refuses for a while; never holds the agent up', async () => {
    api.failNext('PATCH', /\/status$/, 500, 3);
    api.failNext('POST', /\/events$/, 503, 2);
    const agent = makeAgent({ sources: [{ type: 'static' }] });
    await startReporter(agent);
    await agent.start();
    expect(agent.state).toBe('running');
    await expect.poll(condition, { timeout: 5000 }).toMatchObject({ reason: 'AgentHealthy' });
    await expect.poll(events, { timeout: 5000 }).toEqual([expect.objectContaining({ reason: 'AgentStarted' })]);
    expect(api.requests.filter((r) => r.status >= 500)).toHaveLength(5);
  });

  it('refuses to start without the in-cluster config, naming what to set', async () => {
    const agent = makeAgent({ sources: [{ type: 'static' }] });
    delete process.env.KUBERNETES_SERVICE_HOST;
    const attempt = NodeReporter.start(agent, { nodeName: NODE, root: join(dir, 'nowhere'), logger: quiet });
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    await expect(attempt).rejects.toMatchObject({
      issues: [
        { path: [], message: 'KUBERNETES_SERVICE_HOST is not set (the kubelet sets it in every pod)' },
        { path: [], message: expect.stringMatching(/nowhere\/var\/run\/secrets\/kubernetes\.io\/serviceaccount\/token is missing/) },
        { path: [], message: expect.stringMatching(/ca\.crt is missing/) },
      ],
    });
  });
});

describe('bpfsteer run --kubernetes', { timeout: 30_000 }, () => {
  it('reports to the API server from the service account, and says what is missing when not in a pod', async () => {
    const config = join(dir, 'agent.yaml');
    await writeFile(config, `agent: { adminSocket: ${join(dir, 'run', 'agent.sock')} }\nsources: [{ type: static }]\n`);
    const env = { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(api.port), NODE_NAME: NODE };
    const agent = spawnBpfsteer(['run', '-c', config, '--kubernetes', '--kubernetes-root', root], children, env);
    await expect.poll(condition, { timeout: 15_000 }).toMatchObject({ status: 'False', reason: 'AgentHealthy' });
    await expect.poll(() => events().map((e) => e.reason), { timeout: 5000 }).toEqual(['AgentStarted']);
    agent.child.kill('SIGTERM');
    expect((await agent.done).code).toBe(0);
    expect(condition()).toMatchObject({ status: 'Unknown', reason: 'AgentStopped' });
    expect(events().map((e) => e.reason)).toEqual(['AgentStarted', 'AgentStopping']);
    // everything it asked is granted by the ClusterRole `bpfsteer manifests ambient` renders
    const rules = ambientManifests(AMBIENT_DEFAULTS)[1].rules!;
    const asked = new Set(api.requests.map((r) => verbAndResource(r.method, r.url).join(' ')));
    // (get nodes too, when an Event went out before the watch showed the Node)
    expect([...asked]).toEqual(expect.arrayContaining(['create events', 'list nodes', 'patch nodes/status', 'watch nodes']));
    for (const request of asked) {
      const [verb, resource] = request.split(' ');
      expect(rules.some((r) => r.resources!.includes(resource!) && r.verbs.includes(verb!)), request).toBe(true);
    }

    const outside = spawnBpfsteer(['run', '-c', config, '--kubernetes'], children, { KUBERNETES_SERVICE_HOST: '', NODE_NAME: '' });
    const r = await outside.done;
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('bpfsteer: --kubernetes: name the Node the agent runs on with --kubernetes-node or NODE_NAME (neither is set)\n');
    const noPod = spawnBpfsteer(['run', '-c', config, '--kubernetes', '--kubernetes-node', NODE, '--kubernetes-root', join(dir, 'nowhere')], children, {
      KUBERNETES_SERVICE_HOST: '',
    });
    const r2 = await noPod.done;
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/^bpfsteer: --kubernetes: KUBERNETES_SERVICE_HOST is not set \(the kubelet sets it in every pod\); \S+\/nowhere\/var\/run\/secrets\/kubernetes.io\/serviceaccount\/token is missing/);
  });
});
