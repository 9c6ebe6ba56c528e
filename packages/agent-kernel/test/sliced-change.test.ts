import { afterEach, describe, expect, it } from 'vitest';
import type { Intent } from '../src/contracts.js';
import type { Agent } from '../src/agent.js';
import { SLICED_CHANGE } from '../src/intent-change.js';
import { IntentRejectedError } from '../src/errors.js';
import { type FakePluginOptions, onePluginAgent } from './fakes.js';

let agents: Agent[] = [];
afterEach(async () => {
  for (const a of agents) await a.stop();
  agents = [];
});

const N = SLICED_CHANGE * 10;
const intent = (v: number, from = 's1'): Intent => ({ kind: 'a.kind', v, from });

function setup(rejectApply?: FakePluginOptions['rejectApply']) {
  const { agent, plugin, source } = onePluginAgent(rejectApply ? { rejectApply } : {}, [
    { name: 's1', initial: [] },
    { name: 's2', initial: [] },
  ]);
  agents.push(agent);
  return { agent, plugin, sink: (i: number) => source(i)!.sink! };
}

describe('a large change (taken in slices)', () => {
  it('lets the event loop run while it is taken, and is applied whole', async () => {
    const { agent, plugin, sink } = setup();
    await agent.start();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const upsert = Array.from({ length: N }, (_, i) => [`k${i}`, intent(i)] as [string, Intent]);
    const result = await sink(0).commitChange({ upsert });
    clearInterval(timer);
    expect(result).toMatchObject({ ok: true, report: { added: N } });
    expect(plugin().applied.at(-1)?.get('a.kind')).toHaveLength(N);
    expect(ticks).toBeGreaterThan(0);
  });

  it('is never seen half-taken by a plugin, even when another source makes it apply meanwhile', { timeout: 60_000 }, async () => {
    const { agent, plugin, sink } = setup();
    await agent.start();
    // s1 holds the kind already: its list is the one changed in place
    expect(await sink(0).commitChange({ upsert: [['pre', intent(-1)]] })).toMatchObject({ ok: true });
    const n = N * 5;
    const upsert = Array.from({ length: n }, (_, i) => [`k${i}`, intent(i)] as [string, Intent]);
    let done = false;
    const big = sink(0).commitChange({ upsert }).finally(() => (done = true));
    // the other source's small changes ask for applies while the big one is being taken
    const small: Promise<unknown>[] = [];
    while (!done) {
      await new Promise((r) => setImmediate(r));
      small.push(sink(1).commitChange({ upsert: [[`x${small.length}`, intent(small.length, 's2')]] }));
    }
    expect(await big).toMatchObject({ ok: true });
    await Promise.all(small);
    await agent.settled();
    expect(small.length).toBeGreaterThan(3);
    for (const desired of plugin().applied) {
      const fromS1 = (desired.get('a.kind') ?? []).filter((x) => x.from === 's1').length;
      expect([0, 1, n + 1]).toContain(fromS1); // 0: the first apply, before "pre"
    }
    expect(plugin().applied.at(-1)?.get('a.kind')).toHaveLength(n + 1 + small.length);
  });

  it('is undone whole when the plugin refuses it', async () => {
    const { agent, plugin, sink } = setup((d) =>
      d.get('a.kind')?.some((x) => x.v === 'bad') ? new IntentRejectedError('v must be a number') : undefined,
    );
    await agent.start();
    expect(await sink(0).commitChange({ upsert: [['keep', intent(-1)]] })).toMatchObject({ ok: true });
    const upsert = Array.from({ length: N }, (_, i) => [`k${i}`, intent(i)] as [string, Intent]);
    upsert.push(['keep', { kind: 'a.kind', v: 'bad' }]);
    expect(await sink(0).commitChange({ upsert })).toMatchObject({ ok: false, reason: 'invalid' });
    expect(plugin().applied.at(-1)?.get('a.kind')?.map((x) => x.v)).toEqual([-1]);
    expect(await sink(0).commitChange({ remove: ['keep'] })).toMatchObject({ ok: true });
    expect(plugin().applied.at(-1)?.get('a.kind')).toEqual([]);
  });
});
