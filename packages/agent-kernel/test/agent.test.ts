import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Intent } from '../src/contracts.js';
import { createAgent } from '../src/create-agent.js';
import { loadAgentConfig } from '../src/load-agent-config.js';
import { staticSource } from '../src/static-source.js';
import type { Agent } from '../src/agent.js';
import type { AgentEvent } from '../src/agent-events.js';
import { captureLogger, fakePlugin, fakeSource, type FakePluginOptions, redirectIntent } from './fakes.js';

let journal: string[];
let agents: Agent[];
beforeEach(() => {
  journal = [];
  agents = [];
});
afterEach(async () => {
  for (const a of agents) await a.stop();
});

const kindA = { 'a.kind': z.looseObject({ v: z.number() }) };
const kindB = { 'b.kind': z.looseObject({ v: z.number() }) };
const fast = { openMs: 200, applyMs: 200, closeMs: 200 };

function setup(
  plugins: [string, FakePluginOptions][],
  sources: { name: string; initial?: Intent[]; failStart?: boolean }[] = [],
  agentSection: Record<string, unknown> = {},
) {
  const factories = plugins.map(([id, opts]) => fakePlugin(id, journal, opts));
  const src = fakeSource(journal);
  const { logger, records } = captureLogger();
  const agent = createAgent({
    plugins: factories,
    sources: [src],
    logger,
    config: {
      agent: { adminSocket: false, pinRoot: '/sys/fs/bpf/test-root', timeouts: fast, ...agentSection },
      plugins: plugins.map(([id]) => ({ id })),
      sources: sources.map((s) => ({ type: 'fake', ...s })),
    },
  });
  agents.push(agent);
  const plugin = (id: string) => factories.find((f) => f.id === id)!.instances[0]!;
  return { agent, factories, src, plugin, records };
}

const intent = (kind: string, v: number): Intent => ({ kind, v });

describe('agent events', () => {
  it('tells started, a failed plugin and source, a source problem set and cleared, and stopping', async () => {
    const { agent, src } = setup(
      [['bad', { hang: ['load'] }], ['ok', { intents: kindA }]],
      [{ name: 's1', initial: [intent('a.kind', 1)] }, { name: 's2', failStart: true }],
    );
    const events: AgentEvent[] = [];
    agent.events.subscribe((e) => events.push(e));
    // a listener that throws is logged; the others still hear every event
    agent.events.subscribe(() => {
      throw new Error('listener bug');
    });
    // one plugin of two runs: the failure stays isolated, and start() names it
    expect(await agent.start()).toEqual({ running: ['ok'], failed: [{ id: 'bad', error: 'load timed out after 200 ms' }], nothingRunning: false });
    // the plugins start while the sources do: their failures come in either order, both before started
    expect(events.slice(0, 2)).toEqual(
      expect.arrayContaining([
        { type: 'plugin-failed', plugin: 'bad', error: 'load timed out after 200 ms' },
        { type: 'source-failed', source: 'fake#1', error: 'start failed: cannot reach the control plane' },
      ]),
    );
    expect(events[2]).toMatchObject({ type: 'started', health: { ok: false, state: 'running', failedPlugins: ['bad'], failedSources: ['fake#1'], problems: [] } });

    const context = src.instances[0]!.context;
    context.problem('ControlPlaneUnreachable', 'connect ECONNREFUSED');
    context.problem('ControlPlaneUnreachable', 'connect ECONNREFUSED'); // the same again: nothing
    context.problem('ControlPlaneUnreachable', 'connect ETIMEDOUT');
    const problem = agent.health().problems[0]!;
    expect(problem).toEqual({ source: 'fake#0', problem: 'ControlPlaneUnreachable', message: 'connect ETIMEDOUT', since: expect.any(String) });
    expect((await agent.status()).sources[0]!.problems).toEqual([problem]);
    context.problem('ControlPlaneUnreachable', undefined);
    context.problem('ControlPlaneUnreachable', undefined);
    expect(agent.health().problems).toEqual([]);
    expect((await agent.status()).sources[0]!.problems).toBeUndefined();
    await agent.stop({ keepPinned: true });
    // a source stopped sets nothing any more
    context.problem('Late', 'after stop');
    expect(events.slice(3)).toEqual([
      { type: 'source-problem', problem: { ...problem, message: 'connect ECONNREFUSED' } },
      { type: 'source-problem', problem },
      { type: 'source-problem-cleared', source: 'fake#0', problem: 'ControlPlaneUnreachable' },
      { type: 'stopping', keepPinned: true },
    ]);
  });
});

describe('lifecycle', () => {
  it('runs probe/open/load/seed/attach per plugin in dependency order, the sources meanwhile, then apply', async () => {
    const { agent, plugin } = setup(
      [
        ['second', { dependsOn: ['first'], intents: kindB }],
        ['first', { intents: kindA }],
      ],
      [{ name: 's1', initial: [intent('a.kind', 1)] }],
    );
    await agent.start();
    // the sources start while the plugins do (see start-order.test.ts); the plugins' order is fixed
    expect(journal.filter((e) => e !== 's1:start')).toEqual([
      'first:create', 'first:open', 'first:load', 'first:seed', 'first:attach',
      'second:create', 'second:open', 'second:load', 'second:seed', 'second:attach',
      'first:apply', 'second:apply',
    ]);
    expect(journal.indexOf('s1:start')).toBeLessThan(journal.indexOf('first:apply'));
    expect(agent.state).toBe('running');
    expect(plugin('first').context.pinRoot).toBe('/sys/fs/bpf/test-root/first');
    expect(plugin('first').context.signal.aborted).toBe(false);
  });

  it('shuts down in reverse order: sources first, then plugins last-started first, unpinning by default', async () => {
    const { agent, plugin } = setup(
      [['p1', {}], ['p2', {}], ['p3', {}]],
      [{ name: 's1' }, { name: 's2' }],
    );
    await agent.start();
    journal.length = 0;
    await agent.stop();
    expect(journal).toEqual(['s2:stop', 's1:stop', 'p3:close(unpin)', 'p2:close(unpin)', 'p1:close(unpin)']);
    expect(agent.state).toBe('stopped');
    expect(plugin('p1').context.signal.aborted).toBe(true);
  });

  it('keeps pins on stop({ keepPinned: true }) (restart mode)', async () => {
    const { agent, plugin } = setup([['p1', {}]]);
    await agent.start();
    await agent.stop({ keepPinned: true });
    expect(plugin('p1').closedWith).toEqual({ keepPinned: true });
  });

  it('fails a hanging step with a clear time-out; the other plugins go on', async () => {
    const { agent, plugin } = setup([['slow', { hang: ['load'] }], ['ok', { intents: kindA }]], [
      { name: 's1', initial: [intent('a.kind', 1)] },
    ]);
    await agent.start();
    const status = await agent.status();
    expect(status.plugins.map((p) => [p.id, p.state, p.error])).toEqual([
      ['slow', 'failed', 'load timed out after 200 ms'],
      ['ok', 'running', undefined],
    ]);
    // its resources were released (pins kept: a failed start must not tear down a previous run;
    // only what this start pinned is discarded)
    expect(plugin('slow').closedWith).toEqual({ keepPinned: true, discardNew: true });
    expect(plugin('slow').context.signal.aborted).toBe(true);
    expect(plugin('ok').applied).toHaveLength(1);
    expect(agent.health()).toMatchObject({ ok: false, failedPlugins: ['slow'] });
  });

  it('isolates a failing plugin; a plugin depending on it is failed without being opened', async () => {
    const { agent, plugin } = setup([
      ['broken', { fail: ['attach'] }],
      ['dependent', { dependsOn: ['broken'] }],
      ['independent', {}],
    ]);
    await agent.start();
    expect((await agent.status()).plugins.map((p) => [p.id, p.state, p.error])).toEqual([
      ['broken', 'failed', 'attach failed: attach exploded'],
      ['dependent', 'failed', 'dependency "broken" is not running (failed)'],
      ['independent', 'running', undefined],
    ]);
    expect(journal).not.toContain('dependent:open');
    expect(journal).toContain('broken:close(keep)');
    journal.length = 0;
    await agent.stop();
    // failed plugins were already closed; only the running one closes at stop
    expect(journal).toEqual(['independent:close(unpin)']);
  });

  it('names a missing privilege as such, not as a kernel without the feature', async () => {
    const factory = fakePlugin('needs-tc', journal, { requires: ['tc'] });
    const agent = createAgent({
      plugins: [factory],
      logger: captureLogger().logger,
      featureProbe: { check: () => ({ supported: false, reason: 'permission', detail: 'not permitted to probe sched_cls programs: no CAP_BPF' }) },
      config: { agent: { adminSocket: false }, plugins: [{ id: 'needs-tc' }] },
    });
    agents.push(agent);
    const error = 'required kernel feature "tc" is not permitted to this process: not permitted to probe sched_cls programs: no CAP_BPF';
    // start() says so: no plugin runs, the agent steers nothing
    expect(await agent.start()).toEqual({ running: [], failed: [{ id: 'needs-tc', error }], nothingRunning: true });
    expect((await agent.status()).plugins[0]).toMatchObject({ state: 'failed', error });
    expect(journal).toEqual([]);
  });

  it('probes required features and fails a plugin whose feature is missing', async () => {
    const factory = fakePlugin('needs-tcx', journal, { requires: ['tcx', 'bpffs'] });
    const checked: string[] = [];
    const agent = createAgent({
      plugins: [factory],
      logger: captureLogger().logger,
      featureProbe: {
        check: (f) => {
          checked.push(f);
          return f === 'tcx' ? { supported: false, detail: 'kernel 6.1 has no tcx' } : { supported: true };
        },
      },
      config: { agent: { adminSocket: false }, plugins: [{ id: 'needs-tcx' }] },
    });
    agents.push(agent);
    await agent.start();
    expect(checked).toEqual(['tcx']);
    expect((await agent.status()).plugins[0]).toMatchObject({
      state: 'failed',
      error: 'required kernel feature "tcx" is not available: kernel 6.1 has no tcx',
    });
    expect(journal).toEqual([]);
  });

  it('fails a source whose start throws; the others go on', async () => {
    const { agent } = setup([['p', { intents: kindA }]], [
      { name: 'bad', failStart: true },
      { name: 'good', initial: [intent('a.kind', 1)] },
    ]);
    await agent.start();
    expect((await agent.status()).sources.map((s) => [s.name, s.state, s.error, s.intents])).toEqual([
      ['fake#0', 'failed', 'start failed: cannot reach the control plane', 0],
      ['fake#1', 'running', undefined, 1],
    ]);
  });
});

describe('desired state', () => {
  it('merges the latest snapshots of all sources and gives each plugin only its kinds', async () => {
    const { agent, src, plugin } = setup(
      [['pa', { intents: kindA }], ['pb', { intents: kindB }], ['none', {}]],
      [
        { name: 's1', initial: [intent('a.kind', 1), intent('b.kind', 2)] },
        { name: 's2', initial: [intent('a.kind', 3)] },
      ],
    );
    await agent.start();
    expect(plugin('pa').applied).toEqual([new Map([['a.kind', [intent('a.kind', 1), intent('a.kind', 3)]]])]);
    expect(plugin('pb').applied).toEqual([new Map([['b.kind', [intent('b.kind', 2)]]])]);
    expect(plugin('none').applied).toEqual([new Map()]);

    // s2's new snapshot replaces its previous one; only plugins whose kinds changed re-apply
    src.instances[1]!.emit([]);
    await agent.settled();
    expect(plugin('pa').applied.at(-1)).toEqual(new Map([['a.kind', [intent('a.kind', 1)]]]));
    expect(plugin('pb').applied).toHaveLength(1);
    // a kind with no intents left is present and empty (the plugin removes what it had)
    src.instances[0]!.emit([intent('a.kind', 1)]);
    await agent.settled();
    expect(plugin('pb').applied.at(-1)).toEqual(new Map([['b.kind', []]]));
  });

  it('waits for every source to publish once before the first apply', async () => {
    const { agent, src, plugin } = setup([['pa', { intents: kindA }]], [
      { name: 'early', initial: [intent('a.kind', 1)] },
      { name: 'late' },
    ]);
    const started = agent.start();
    await new Promise((r) => setTimeout(r, 20));
    expect(plugin('pa').applied).toHaveLength(0);
    src.instances[1]!.emit([intent('a.kind', 2)]);
    await started;
    expect(plugin('pa').applied).toEqual([new Map([['a.kind', [intent('a.kind', 1), intent('a.kind', 2)]]])]);
  });

  it('applies without a silent source after openMs', async () => {
    const { agent, plugin, records } = setup([['pa', { intents: kindA }]], [
      { name: 'early', initial: [intent('a.kind', 1)] },
      { name: 'silent' },
    ]);
    await agent.start();
    expect(plugin('pa').applied).toHaveLength(1);
    expect(records.some((r) => r.msg === 'sources did not publish in time; applying without them')).toBe(true);
  });

  it('coalesces a burst of snapshots into one apply of the latest state', async () => {
    const { agent, src, plugin } = setup([['pa', { intents: kindA }]], [{ name: 's', initial: [] }]);
    await agent.start();
    for (let v = 1; v <= 5; v++) src.instances[0]!.emit([intent('a.kind', v)]);
    await agent.settled();
    expect(plugin('pa').applied).toHaveLength(2);
    expect(plugin('pa').applied[1]).toEqual(new Map([['a.kind', [intent('a.kind', 5)]]]));
  });

  it('serialises applies per plugin: a snapshot during an apply runs after it', async () => {
    const { agent, src, plugin } = setup([['pa', { intents: kindA, applyDelayMs: 30 }]], [{ name: 's', initial: [] }]);
    await agent.start();
    src.instances[0]!.emit([intent('a.kind', 1)]);
    await new Promise((r) => setTimeout(r, 10)); // apply of v1 is running
    src.instances[0]!.emit([intent('a.kind', 2)]);
    src.instances[0]!.emit([intent('a.kind', 3)]);
    await agent.settled();
    const p = plugin('pa');
    expect(p.maxConcurrentApplies).toBe(1);
    expect(p.applied.map((d) => d.get('a.kind'))).toEqual([[], [intent('a.kind', 1)], [intent('a.kind', 3)]]);
  });

  it('keeps a plugin running when it rejects a desired state, and reports it', async () => {
    const { agent, plugin } = setup([['pa', { intents: kindA, fail: ['apply'] }]], [
      { name: 's', initial: [intent('a.kind', 1)] },
    ]);
    await agent.start();
    const [report] = (await agent.status()).plugins;
    expect(report).toMatchObject({ state: 'running', lastApply: { ok: false, error: 'apply exploded', intents: 1 } });
    expect(plugin('pa').closedWith).toBeUndefined();
  });

  it('fails a plugin whose apply hangs past applyMs', async () => {
    const { agent, plugin } = setup([['pa', { intents: kindA, hang: ['apply'] }]], [
      { name: 's', initial: [intent('a.kind', 1)] },
    ]);
    await agent.start();
    expect((await agent.status()).plugins[0]).toMatchObject({ state: 'failed', error: 'apply timed out after 200 ms' });
    expect(plugin('pa').closedWith).toEqual({ keepPinned: true });
  });

  it('rejects a snapshot with a kind no plugin consumes and keeps the previous one', async () => {
    const { agent, src, plugin, records } = setup([['pa', { intents: kindA }]], [
      { name: 's', initial: [intent('a.kind', 1)] },
    ]);
    await agent.start();
    src.instances[0]!.emit([intent('a.kind', 2), intent('nope', 3)]);
    await agent.settled();
    expect(plugin('pa').applied).toHaveLength(1);
    expect((await agent.status()).sources[0]).toMatchObject({
      intents: 1,
      error: 'snapshot rejected: intent 1 has kind "nope", which no configured plugin consumes; consumed kinds: a.kind',
    });
    expect(records.some((r) => r.level === 'error' && String(r.msg).startsWith('snapshot rejected'))).toBe(true);
  });
});

describe('status', () => {
  it('reports plugins with attachments, maps, details and the last apply; sources with counts', async () => {
    const { agent } = setup([['pa', { intents: kindA }]], [{ name: 's', initial: [intent('a.kind', 1)] }]);
    await agent.start();
    const status = await agent.status();
    expect(status.agent).toMatchObject({ pid: process.pid, state: 'running', pinRoot: '/sys/fs/bpf/test-root' });
    expect(status.plugins[0]).toMatchObject({
      id: 'pa',
      state: 'running',
      kinds: ['a.kind'],
      attachments: [{ target: 'eth0 egress', type: 'tcx-egress' }],
      maps: [{ name: 'pa_rules', entries: 1, maxEntries: 1024 }],
      details: { fake: true },
      lastApply: { ok: true, intents: 1, report: { added: 1, updated: 0, removed: 0 } },
    });
    expect(status.sources[0]).toMatchObject({ name: 'fake#0', type: 'fake', state: 'running', intents: 1 });
    expect(JSON.parse(JSON.stringify(status))).toEqual(status);
  });
});

describe('static source reload (SIGHUP path)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), `bpfsteer-kernel-test-${process.pid}-`));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const file = (intents: string[]) =>
    [
      'agent: { adminSocket: false, timeouts: { openMs: 500, applyMs: 500, closeMs: 500 } }',
      'plugins: [{ id: tc-nexthop }]',
      'sources:',
      '  - type: static',
      '    intents:',
      ...intents.map((i) => `      - ${i}`),
    ].join('\n');

  it('re-reads the file; an invalid file is logged and the last good intents stay', async () => {
    const plugin = fakePlugin('tc-nexthop', journal, { intents: { 'nexthop.redirect': redirectIntent } });
    const path = join(dir, 'agent.yaml');
    await writeFile(path, file(['{ kind: nexthop.redirect, source: 10.0.0.0/24, via: a }']));
    const { readFile } = await import('node:fs/promises');
    const config = loadAgentConfig(await readFile(path, 'utf8'), { plugins: [plugin], sources: [staticSource], path });
    const { logger, records } = captureLogger();
    const agent = createAgent({ config, logger });
    agents.push(agent);
    await agent.start();
    const p = plugin.instances[0]!;
    expect(p.applied.at(-1)!.get('nexthop.redirect')).toEqual([{ kind: 'nexthop.redirect', source: '10.0.0.0/24', via: 'a' }]);

    await writeFile(path, file(['{ kind: nexthop.redirect, source: 10.0.0.0/24, via: a }', '{ kind: nexthop.redirect, source: 10.0.1.0/24, via: b }']));
    expect(await agent.reload()).toEqual({ ok: true, sources: [{ name: 'static#0' }] });
    expect(p.applied.at(-1)!.get('nexthop.redirect')).toHaveLength(2);

    await writeFile(path, file(['{ kind: nexthop.redirect, source: 10.0.0.300/24, via: a }']));
    const applies = p.applied.length;
    const report = await agent.reload();
    expect(report.ok).toBe(false);
    expect(report.sources[0]!.error).toContain('sources[0].intents[0].source: "10.0.0.300/24" is not a valid CIDR');
    expect(p.applied).toHaveLength(applies);
    const logged = records.find((r) => r.msg === 'config reload failed; keeping the last good intents');
    expect(logged).toMatchObject({ source: 'static#0', problems: ['sources[0].intents[0].source: "10.0.0.300/24" is not a valid CIDR'] });
    expect((await agent.status()).sources[0]).toMatchObject({ state: 'running', intents: 2 });

    // an unreadable file is an error too, not a crash
    await rm(path);
    expect((await agent.reload()).ok).toBe(false);
    expect(agent.state).toBe('running');
  });

  it('without a config file, reload keeps the intents', async () => {
    const plugin = fakePlugin('tc-nexthop', journal, { intents: { 'nexthop.redirect': redirectIntent } });
    const agent = createAgent({
      plugins: [plugin],
      sources: [staticSource],
      logger: captureLogger().logger,
      config: {
        agent: { adminSocket: false },
        plugins: [{ id: 'tc-nexthop' }],
        sources: [{ type: 'static', intents: [{ kind: 'nexthop.redirect', source: '10.1.0.0/16', via: 'x' }] }],
      },
    });
    agents.push(agent);
    await agent.start();
    expect(await agent.reload()).toEqual({ ok: true, sources: [{ name: 'static#0' }] });
    expect(plugin.instances[0]!.applied.at(-1)!.get('nexthop.redirect')).toHaveLength(1);
    expect((await stat(dir)).isDirectory()).toBe(true);
  });
});
