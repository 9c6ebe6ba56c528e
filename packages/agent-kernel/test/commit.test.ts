import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { DesiredState, Intent } from '../src/contracts.js';
import { createAgent } from '../src/create-agent.js';
import type { Agent } from '../src/agent.js';
import { IntentRejectedError } from '../src/errors.js';
import { captureLogger, fakePlugin, fakeSource, type FakePluginOptions } from './fakes.js';

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
const intent = (kind: string, v: number): Intent => ({ kind, v });
const values = (d: DesiredState | undefined, kind: string) => (d?.get(kind) ?? []).map((i) => i.v);

function setup(plugins: [string, FakePluginOptions][], initial: Intent[] | null = [], sourceOptions: { commitAtStart?: Intent[] } = {}) {
  const factories = plugins.map(([id, opts]) => fakePlugin(id, journal, opts));
  const src = fakeSource(journal);
  const { logger } = captureLogger();
  const agent = createAgent({
    plugins: factories,
    sources: [src],
    logger,
    config: {
      agent: { adminSocket: false, pinRoot: '/sys/fs/bpf/test-root', timeouts: fast },
      plugins: plugins.map(([id]) => ({ id })),
      sources: [{ type: 'fake', name: 's', ...(initial && { initial }), ...sourceOptions }],
    },
  });
  agents.push(agent);
  const plugin = (id: string) => factories.find((f) => f.id === id)!.instances[0]!;
  const source = () => src.instances[0]!;

  return { agent, plugin, source };
}

describe('IntentSink.commit', () => {
  it('resolves after the consuming plugins applied the snapshot, with the summed report', async () => {
    const { agent, plugin, source } = setup([['pa', { intents: kindA }], ['pb', { intents: kindB }]], [intent('a.kind', 1)]);
    await agent.start();
    const result = await source().sink!.commit([intent('a.kind', 1), intent('a.kind', 2), intent('b.kind', 3)]);
    expect(result).toEqual({ ok: true, report: { added: 3, updated: 0, removed: 0 } });
    expect(values(plugin('pa').applied.at(-1), 'a.kind')).toEqual([1, 2]);
    expect(values(plugin('pb').applied.at(-1), 'b.kind')).toEqual([3]);
  });

  it('puts the previous snapshot back when a plugin finds the state invalid (reason invalid)', async () => {
    const rejectApply = (d: DesiredState) =>
      values(d, 'a.kind').includes(99) ? new IntentRejectedError('interface "eth9" is not attached') : undefined;
    const { agent, plugin, source } = setup([['pa', { intents: kindA, rejectApply }]], [intent('a.kind', 1)]);
    await agent.start();
    const result = await source().sink!.commit([intent('a.kind', 1), intent('a.kind', 99)]);
    expect(result).toEqual({ ok: false, reason: 'invalid', error: 'plugin pa: interface "eth9" is not attached' });
    // the re-applied (restored) state is the previous one, and a later commit starts from it
    expect(values(plugin('pa').applied.at(-1), 'a.kind')).toEqual([1]);
    expect(await source().sink!.commit([intent('a.kind', 1), intent('a.kind', 2)])).toMatchObject({ ok: true });
    expect(values(plugin('pa').applied.at(-1), 'a.kind')).toEqual([1, 2]);
    expect((await agent.status()).sources[0]).toMatchObject({ intents: 2 });
  });

  it('reports another apply error as reason failed', async () => {
    const rejectApply = (d: DesiredState) => (values(d, 'a.kind').includes(7) ? new Error('map full') : undefined);
    const { agent, source } = setup([['pa', { intents: kindA, rejectApply }]]);
    await agent.start();
    expect(await source().sink!.commit([intent('a.kind', 7)])).toEqual({ ok: false, reason: 'failed', error: 'plugin pa: map full' });
  });

  it('refuses a kind no plugin consumes (invalid) and a kind whose plugin is not running (unavailable)', async () => {
    const { agent, source } = setup([['pa', { intents: kindA }], ['pb', { intents: kindB, fail: ['attach'] }]]);
    await agent.start();
    expect(await source().sink!.commit([intent('zz.kind', 1)])).toMatchObject({ ok: false, reason: 'invalid' });
    expect(await source().sink!.commit([intent('b.kind', 1)])).toEqual({
      ok: false,
      reason: 'unavailable',
      error: 'no running plugin consumes "b.kind"',
    });
    expect((await agent.status()).sources[0]).toMatchObject({ intents: 0 });
  });

  it('runs the commits of one source one at a time, in call order', async () => {
    const { agent, plugin, source } = setup([['pa', { intents: kindA, applyDelayMs: 5 }]]);
    await agent.start();
    const results = await Promise.all([1, 2, 3].map((v) => source().sink!.commit([intent('a.kind', v)])));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(plugin('pa').applied.slice(-3).map((d) => values(d, 'a.kind'))).toEqual([[1], [2], [3]]);
    expect(plugin('pa').maxConcurrentApplies).toBe(1);
  });

  it('before the agent runs, keeps the snapshot for the first apply and says it is pending', async () => {
    // a commit from the source's own start(): the agent is not running yet
    const { agent, plugin, source } = setup([['pa', { intents: kindA }]], null, { commitAtStart: [intent('a.kind', 5)] });
    await agent.start();
    expect(source().startCommit).toEqual({ ok: true, report: { added: 0, updated: 0, removed: 0 }, pending: true });
    expect(values(plugin('pa').applied.at(-1), 'a.kind')).toEqual([5]);
  });
});

describe('SourceContext.describe / watch', () => {
  it('reaches the running plugin consuming the kind, and its event topics', async () => {
    const { agent, plugin, source } = setup([['pa', { intents: kindA }]], [intent('a.kind', 4)]);
    await agent.start();
    expect(await source().context.describe('a.kind')).toEqual({ kind: 'a.kind', intents: [intent('a.kind', 4)] });
    expect(await source().context.describe('other.kind')).toBeUndefined();
    const seen: unknown[] = [];
    const stop = source().context.watch('pa.event', (e) => seen.push(e));
    plugin('pa').emitEvent('pa.event', { n: 1 });
    stop();
    plugin('pa').emitEvent('pa.event', { n: 2 });
    expect(seen).toEqual([{ n: 1 }]);
  });
});

describe('SourceFactory.produces', () => {
  it('holds the first apply of a plugin whose kinds a silent producing source declares, however long', async () => {
    const factories = [fakePlugin('pa', journal, { intents: kindA }), fakePlugin('pb', journal, { intents: kindB })];
    const quiet = fakeSource(journal, ['a.kind'], 'control-plane');
    const { logger, records } = captureLogger();
    const agent = createAgent({
      plugins: factories,
      sources: [quiet],
      logger,
      config: {
        agent: { adminSocket: false, pinRoot: '/sys/fs/bpf/test-root', timeouts: { ...fast, openMs: 50 } },
        plugins: [{ id: 'pa' }, { id: 'pb' }],
        sources: [{ type: 'control-plane', name: 'cp' }],
      },
    });
    agents.push(agent);
    await agent.start();
    const [pa, pb] = factories.map((f) => f.instances[0]!);
    // pb's kinds come from nobody in particular: applied after openMs as before; pa keeps its state
    expect(pb!.applied).toHaveLength(1);
    expect(pa!.applied).toHaveLength(0);
    expect(records.some((r) => String(r.msg).startsWith('first apply held'))).toBe(true);
    await new Promise((r) => setTimeout(r, 120));
    expect(pa!.applied).toHaveLength(0);
    // the source's first commit releases it: applied, and the commit waited for it
    const result = await quiet.instances[0]!.sink!.commit([intent('a.kind', 8)]);
    expect(result).toEqual({ ok: true, report: { added: 1, updated: 0, removed: 0 } });
    expect(values(pa!.applied.at(-1), 'a.kind')).toEqual([8]);
  });

  it('releases a held plugin on a plain publish too', async () => {
    const factories = [fakePlugin('pa', journal, { intents: kindA })];
    const quiet = fakeSource(journal, ['a.kind'], 'control-plane');
    const agent = createAgent({
      plugins: factories,
      sources: [quiet],
      logger: captureLogger().logger,
      config: {
        agent: { adminSocket: false, pinRoot: '/sys/fs/bpf/test-root', timeouts: { ...fast, openMs: 30 } },
        plugins: [{ id: 'pa' }],
        sources: [{ type: 'control-plane', name: 'cp' }],
      },
    });
    agents.push(agent);
    await agent.start();
    quiet.instances[0]!.emit([intent('a.kind', 3)]);
    await agent.settled();
    expect(values(factories[0]!.instances[0]!.applied.at(-1), 'a.kind')).toEqual([3]);
  });

  it('never applies to a plugin whose producing source failed at start: its pinned state stays in force', async () => {
    // the ziti source failing on a corrupt state file at a --keep-pinned restart emptied the kernel
    const factories = [fakePlugin('pa', journal, { intents: kindA }), fakePlugin('pb', journal, { intents: kindB })];
    const broken = fakeSource(journal, ['a.kind'], 'control-plane');
    const other = fakeSource(journal, ['b.kind'], 'other');
    const { logger, records } = captureLogger();
    const agent = createAgent({
      plugins: factories,
      sources: [broken, other],
      logger,
      config: {
        agent: { adminSocket: false, pinRoot: '/sys/fs/bpf/test-root', timeouts: { ...fast, openMs: 50 } },
        plugins: [{ id: 'pa' }, { id: 'pb' }],
        sources: [
          { type: 'control-plane', name: 'cp', failStart: true },
          { type: 'other', name: 'o', initial: [intent('b.kind', 1)] },
        ],
      },
    });
    agents.push(agent);
    await agent.start();
    const [pa, pb] = factories.map((f) => f.instances[0]!);
    expect(pb!.applied).toHaveLength(1);
    expect(pa!.applied).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 120));
    expect(pa!.applied).toHaveLength(0);
    const status = await agent.status();
    const paReport = status.plugins.find((p) => p.id === 'pa')!;
    expect(paReport.state).toBe('running');
    expect(paReport.heldBy).toEqual([{ source: 'control-plane#0', state: 'failed' }]);
    expect(status.plugins.find((p) => p.id === 'pb')!.heldBy).toBeUndefined();
    expect(agent.health()).toMatchObject({ ok: false, failedSources: ['control-plane#0'] });
    expect(records.some((r) => String(r.msg).includes('failed before it published'))).toBe(true);
    // a stop with keepPinned keeps the held plugin's pins
    await agent.stop({ keepPinned: true });
    expect(pa!.closedWith).toEqual({ keepPinned: true });
  });
});

describe('a failed apply (a kernel error half-way)', () => {
  it('is rolled back: the last applied state is applied again and the commit says so', async () => {
    let failures = 1;
    const rejectApply = (d: DesiredState) =>
      values(d, 'a.kind').includes(9) && failures-- > 0 ? new Error('bpf_map_update_batch: ENOSPC') : undefined;
    const { agent, plugin, source } = setup([['pa', { intents: kindA, rejectApply }]], [intent('a.kind', 1)]);
    await agent.start();
    const result = await source().sink!.commit([intent('a.kind', 1), intent('a.kind', 9)]);
    expect(result).toMatchObject({ ok: false, reason: 'failed', error: 'plugin pa: bpf_map_update_batch: ENOSPC' });
    expect(values(plugin('pa').applied.at(-1), 'a.kind')).toEqual([1]); // the rollback applied [1] again
    const report = (await agent.status()).plugins[0]!;
    expect(report.partial).toBeUndefined();
    expect(report.state).toBe('running');
  });

  it('says the dataplane is partial when the rollback fails too, until an apply succeeds', async () => {
    let mode: 'ok' | 'broken' = 'ok';
    const rejectApply = (d: DesiredState) =>
      mode === 'broken' ? new Error(values(d, 'a.kind').includes(9) ? 'ENOSPC' : 'EIO on rollback') : undefined;
    const { agent, source } = setup([['pa', { intents: kindA, rejectApply }]], [intent('a.kind', 1)]);
    await agent.start();
    mode = 'broken';
    const result = await source().sink!.commit([intent('a.kind', 1), intent('a.kind', 9)]);
    expect(result).toMatchObject({ ok: false, reason: 'failed' });
    const report = (await agent.status()).plugins[0]!;
    expect(report.state).toBe('running');
    expect(report.partial).toMatch(/^the maps may hold part of a newer state until an apply succeeds \(apply failed: .*; rollback failed: EIO on rollback\)$/);
    mode = 'ok';
    expect(await source().sink!.commit([intent('a.kind', 2)])).toMatchObject({ ok: true });
    expect((await agent.status()).plugins[0]!.partial).toBeUndefined();
  });
});

describe('SourceContext.consumers', () => {
  it("tells the consuming plugins' states without asking them", async () => {
    const { agent, source } = setup([['pa', { intents: kindA }], ['pb', { intents: kindB, fail: ['attach'] }]], [intent('a.kind', 1)]);
    await agent.start();
    expect(source().context.consumers('a.kind')).toEqual([{ plugin: 'pa', state: 'running' }]);
    expect(source().context.consumers('b.kind')).toEqual([{ plugin: 'pb', state: 'failed' }]);
    expect(source().context.consumers('c.kind')).toEqual([]);
  });
});

describe('IntentSink.commitChange', () => {
  it('changes the source intents by key, hands the plugins the result, and puts it back when refused', async () => {
    const rejectApply = (d: DesiredState) => (values(d, 'a.kind').includes(99) ? new IntentRejectedError('no 99') : undefined);
    const { agent, plugin, source } = setup([['pa', { intents: kindA, rejectApply }], ['pb', { intents: kindB }]], null);
    await agent.start();
    const sink = source().sink!;
    expect(await sink.commitChange({ upsert: [['one', intent('a.kind', 1)], ['two', intent('a.kind', 2)], ['b', intent('b.kind', 5)]] })).toMatchObject({ ok: true });
    expect(values(plugin('pa').applied.at(-1), 'a.kind')).toEqual([1, 2]);
    const pbApplies = plugin('pb').applied.length;
    expect(await sink.commitChange({ remove: ['one'], upsert: [['three', intent('a.kind', 3)]] })).toMatchObject({ ok: true });
    expect(values(plugin('pa').applied.at(-1), 'a.kind')).toEqual([2, 3]);
    expect(plugin('pb').applied.length).toBe(pbApplies); // its kind was not touched
    // refused by the plugin: put back, and the keys as they were
    expect(await sink.commitChange({ upsert: [['two', intent('a.kind', 99)]] })).toMatchObject({ ok: false, reason: 'invalid' });
    expect(values(plugin('pa').applied.at(-1), 'a.kind')).toEqual([2, 3]);
    expect(await sink.commitChange({ remove: ['two'] })).toMatchObject({ ok: true });
    expect(values(plugin('pa').applied.at(-1), 'a.kind')).toEqual([3]);
    // refused by the agent: an unknown key
    expect(await sink.commitChange({ remove: ['two'] })).toEqual({ ok: false, reason: 'invalid', error: 'remove 0: no intent has key "two"' });
    expect((await agent.status()).sources[0]).toMatchObject({ intents: 2 });
  });

  it('publishChange runs after the pending commits of the same source', async () => {
    const { agent, plugin, source } = setup([['pa', { intents: kindA, applyDelayMs: 20 }]], null);
    await agent.start();
    const sink = source().sink!;
    const committed = sink.commitChange({ upsert: [['k', intent('a.kind', 1)]] });
    sink.publishChange({ upsert: [['k', intent('a.kind', 2)]] });
    expect(await committed).toMatchObject({ ok: true });
    await new Promise((r) => setTimeout(r, 10));
    await agent.settled();
    expect(values(plugin('pa').applied.at(-1), 'a.kind')).toEqual([2]);
  });
});

describe('the changes handed to apply', () => {
  it('name the changed positions since the last successful apply, and nothing after a failure', async () => {
    let failures = 0;
    const rejectApply = () => (failures-- > 0 ? new Error('EIO') : undefined);
    const { agent, plugin, source } = setup([['pa', { intents: kindA, rejectApply }]], null);
    await agent.start();
    const sink = source().sink!;
    const pa = plugin('pa');
    expect(pa.changes.at(-1)).toBeUndefined(); // the first apply compares everything
    await sink.commitChange({ upsert: [['x', intent('a.kind', 1)], ['y', intent('a.kind', 2)], ['z', intent('a.kind', 3)]] });
    expect(pa.changes.at(-1)).toEqual(new Map([['a.kind', { before: 0, positions: [0, 1, 2] }]]));
    await sink.commitChange({ remove: ['x'] }); // z takes x's place
    expect(pa.changes.at(-1)).toEqual(new Map([['a.kind', { before: 3, positions: [0] }]]));
    failures = 1;
    expect(await sink.commitChange({ upsert: [['w', intent('a.kind', 4)]] })).toMatchObject({ ok: false, reason: 'failed' });
    // the failed apply had changes, the rollback to the last applied state none; the agent then
    // puts the source's intents back and applies them: nothing changed since the rollback
    expect(pa.changes.slice(-3)).toEqual([
      new Map([['a.kind', { before: 2, positions: [2] }]]),
      undefined,
      new Map([['a.kind', { before: 2, positions: [] }]]),
    ]);
    await sink.commitChange({ upsert: [['v', intent('a.kind', 5)]] });
    // relative to the state in force again ([3, 2])
    expect(pa.changes.at(-1)).toEqual(new Map([['a.kind', { before: 2, positions: [2] }]]));
    expect(values(pa.applied.at(-1), 'a.kind')).toEqual([3, 2, 5]);
  });
});

describe('what plugins provide to each other (provides / needs)', () => {
  const BYPASS_MAP = Symbol.for('bpfsteer.test.BypassMap');
  const bypass = { [BYPASS_MAP]: { description: 'the bypass map' } };
  const provides = { [BYPASS_MAP]: (config: unknown, pinRoot: string) => ({ pin: `${pinRoot}/maps/bypass`, config }) };

  it('starts the provider first, hands its value over, and closes it last', async () => {
    const { agent, plugin } = setup([['user', { intents: kindA, needs: bypass }], ['provider', { intents: kindB, provides }]], [intent('a.kind', 1)]);
    await agent.start();
    expect(journal.filter((j) => j.endsWith(':create'))).toEqual(['provider:create', 'user:create']);
    expect(plugin('user').context.provided).toEqual(new Map([[BYPASS_MAP, { pin: '/sys/fs/bpf/test-root/provider/maps/bypass', config: {} }]]));
    await agent.stop();
    expect(journal.filter((j) => j.includes(':close'))).toEqual(['user:close(unpin)', 'provider:close(unpin)']);
  });

  it('does not start a plugin whose provider failed (unless the need is optional)', async () => {
    const { agent } = setup([['provider', { intents: kindB, provides, fail: ['attach'] }], ['user', { intents: kindA, needs: bypass }]], null);
    await agent.start();
    expect((await agent.status()).plugins.map((p) => [p.id, p.state, p.error])).toEqual([
      ['provider', 'failed', 'attach failed: attach exploded'],
      ['user', 'failed', 'dependency "provider" is not running (failed)'],
    ]);
  });
});

