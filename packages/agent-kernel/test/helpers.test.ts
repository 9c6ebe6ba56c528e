import { Container } from 'inversify';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Intent } from '../src/contracts.js';
import { agentKernelModule, pluginModule, sourceModule, staticSourceModule } from '../src/container-modules.js';
import type { ContributionProvider } from '../src/contribution-provider.js';
import { createAgent } from '../src/create-agent.js';
import { formatLogLine } from '../src/create-logger.js';
import { desiredStateFor, groupSnapshot, kindsOf, mergeSnapshots } from '../src/desired-state.js';
import { ConfigError, TimeoutError } from '../src/errors.js';
import { orderPlugins } from '../src/plugin-order.js';
import { staticSource } from '../src/static-source.js';
import { Tokens } from '../src/tokens.js';
import { withTimeout } from '../src/with-timeout.js';
import { captureLogger, fakePlugin } from './fakes.js';

describe('orderPlugins', () => {
  const deps = (o: Record<string, string[]>) => new Map(Object.entries(o));
  it.each([
    [['a', 'b', 'c'], {}, ['a', 'b', 'c']],
    [['a', 'b', 'c'], { a: ['c'] }, ['c', 'a', 'b']],
    [['a', 'b', 'c'], { a: ['b'], b: ['c'] }, ['c', 'b', 'a']],
    [['a', 'b'], { a: ['missing'] }, ['a', 'b']],
  ])('%j with %j -> %j', (ids, d, order) => {
    expect(orderPlugins(ids, deps(d))).toEqual({ order });
  });
  it('finds a cycle', () => {
    expect(orderPlugins(['a', 'b', 'c'], deps({ a: ['b'], b: ['c'], c: ['a'] })).cycle).toEqual(['a', 'b', 'c', 'a']);
  });
});

describe('desired state helpers', () => {
  const i = (kind: string, n: number): Intent => ({ kind, n });
  const known = new Map([['x', 0], ['y', 0], ['a', 0], ['b', 0]]);
  const grouped = (intents: Intent[]) => {
    const g = groupSnapshot(intents, known);
    if (typeof g === 'string') throw new Error(g);
    return g;
  };
  it('merges snapshots in order, grouped by kind', () => {
    const merged = mergeSnapshots([grouped([i('x', 1), i('y', 2)]), grouped([i('x', 3)])]);
    expect(merged).toEqual(new Map([['x', [i('x', 1), i('x', 3)]], ['y', [i('y', 2)]]]));
    expect(desiredStateFor(merged, ['x', 'z'])).toEqual(new Map([['x', [i('x', 1), i('x', 3)]], ['z', []]]));
    expect(kindsOf(grouped([i('a', 1)]), undefined, grouped([i('b', 1), i('a', 2)]))).toEqual(new Set(['a', 'b']));
  });
  it('groups a snapshot in one pass: frozen intents kept, others frozen copies, lists frozen', () => {
    const kept = Object.freeze(i('x', 1));
    const loose = i('y', 2);
    const g = grouped([kept, loose, i('x', 3)]);
    expect(g.size).toBe(3);
    expect(g.byKind.get('x')![0]).toBe(kept);
    expect(g.byKind.get('y')![0]).not.toBe(loose);
    expect(g.byKind.get('y')![0]).toEqual(loose);
    expect(Object.isFrozen(g.byKind.get('y')![0])).toBe(true);
    expect(Object.isFrozen(g.byKind.get('x'))).toBe(true);
    // one snapshot: its lists are handed on as they are
    expect(mergeSnapshots([g]).get('x')).toBe(g.byKind.get('x'));
  });
  it('trusts only the very objects it accepted at the same place before', () => {
    const loose = i('y', 2);
    const first = grouped([Object.freeze(i('x', 1)), loose]);
    const again = groupSnapshot([first.accepted[0], loose], known, first);
    if (typeof again === 'string') throw new Error(again);
    expect(again.accepted[0]).toBe(first.accepted[0]);
    expect(again.accepted[1]).not.toBe(loose); // the raw object was not accepted as it is: copied again
    expect(Object.isFrozen(again.accepted[1])).toBe(true);
  });
  it.each([
    [[i('x', 1), i('q', 2)], 'intent 1 has kind "q", which no configured plugin consumes; consumed kinds: x, y, a, b'],
    [[{ n: 1 } as unknown as Intent], 'intent 0 has kind undefined'],
    [[null as unknown as Intent], 'intent 0 has kind undefined'],
    ['nope' as unknown as Intent[], 'a snapshot must be an array of intents'],
  ])('refuses %j', (intents, message) => {
    expect(groupSnapshot(intents, known)).toContain(message);
  });
});

describe('withTimeout', () => {
  it('resolves, rejects, and times out with the step name', async () => {
    expect(await withTimeout('x', 50, () => 7)).toBe(7);
    await expect(withTimeout('x', 50, () => { throw new Error('sync boom'); })).rejects.toThrow('sync boom');
    const err = await withTimeout('open', 20, () => new Promise(() => undefined)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toMatchObject({ code: 'ERR_AGENT_TIMEOUT', step: 'open', timeoutMs: 20, message: 'open timed out after 20 ms' });
  });
});

describe('formatLogLine', () => {
  it('renders a pino JSON line readably', () => {
    const line = JSON.stringify({ level: 'info', time: '2026-01-02T03:04:05.678Z', pid: 1, plugin: 'tc-nexthop', intents: 3, msg: 'applied desired state' });
    expect(formatLogLine(line)).toBe('03:04:05.678 INFO  applied desired state plugin=tc-nexthop intents=3\n');
    expect(formatLogLine('not json')).toBe('not json\n');
  });
});

describe('composition', () => {
  it('collects contributions from several container modules through the ContributionProvider', () => {
    const journal: string[] = [];
    const a = fakePlugin('a', journal);
    const b = fakePlugin('b', journal);
    const container = new Container();
    container.load(agentKernelModule(), pluginModule(a), pluginModule(b), staticSourceModule(), sourceModule());
    const plugins = container.get<ContributionProvider<unknown>>(Tokens.ContributionProvider, { name: Tokens.PluginFactory });
    const sources = container.get<ContributionProvider<unknown>>(Tokens.ContributionProvider, { name: Tokens.SourceFactory });
    expect(plugins.getContributions()).toEqual([a, b]);
    expect(sources.getContributions()).toEqual([staticSource]);
  });

  it('createAgent takes extra modules and validates a plain config against all contributions', async () => {
    const journal: string[] = [];
    const extra = fakePlugin('extra', journal, { intents: { 'e.kind': z.looseObject({}) } });
    const agent = createAgent({
      modules: [pluginModule(extra)],
      sources: [staticSource],
      logger: captureLogger().logger,
      config: { agent: { adminSocket: false }, plugins: [{ id: 'extra' }], sources: [{ type: 'static', intents: [{ kind: 'e.kind' }] }] },
    });
    await agent.start();
    expect(extra.instances[0]!.applied).toEqual([new Map([['e.kind', [{ kind: 'e.kind' }]]])]);
    await agent.stop();
    expect(() =>
      createAgent({ plugins: [extra], logger: captureLogger().logger, config: { plugins: [{ id: 'nope' }] } }),
    ).toThrow(ConfigError);
  });
});
