import { afterEach, describe, expect, it } from 'vitest';
import type { Intent } from '../src/contracts.js';
import type { Agent } from '../src/agent.js';
import { type FakePluginOptions, onePluginAgent } from './fakes.js';

let agents: Agent[] = [];
afterEach(async () => {
  for (const a of agents) await a.stop();
  agents = [];
});

const intent = (v: number): Intent => ({ kind: 'a.kind', v });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function setup(opts: FakePluginOptions, initial: Intent[] | null = []) {
  const made = onePluginAgent(opts, [{ name: 's', ...(initial && { initial }) }]);
  agents.push(made.agent);
  return { ...made, source: () => made.source(0) };
}

describe('start order', () => {
  it("opens the sources' endpoints (listen) before any plugin opens, then starts them while the plugins start", async () => {
    const made = onePluginAgent({ slow: { load: 50 } }, [{ name: 's', listens: true }]);
    agents.push(made.agent);
    await made.agent.start();
    const at = (entry: string) => made.journal.indexOf(entry);
    expect(at('s:listen')).toBeGreaterThanOrEqual(0);
    expect(at('s:listen')).toBeLessThan(at('pa:open'));
    expect(at('s:start')).toBeGreaterThan(at('pa:open'));
    expect(at('s:start')).toBeLessThan(at('pa:attach'));
  });

  it('starts the sources while the plugins still start (re-adopt), and applies only when both are done', async () => {
    const { agent, journal, plugin, source } = setup({ slow: { load: 150 } }, [intent(1)]);
    const starting = agent.start();
    while (!source()?.sink) await sleep(1);
    expect(journal).toContain('s:start');
    expect(journal).not.toContain('pa:attach');
    expect(plugin().applied).toHaveLength(0);
    await starting;
    expect(agent.state).toBe('running');
    expect(plugin().applied.at(-1)?.get('a.kind')).toEqual([intent(1)]);
  });

  it('makes a commit of a running source wait for the plugins, then applies it (not pending)', async () => {
    const { agent, plugin, source } = setup({ slow: { attach: 150 } });
    const starting = agent.start();
    while (!source()?.sink) await sleep(1);
    await sleep(10); // the source runs; the plugin still attaches
    const result = await source()!.sink!.commitChange({ upsert: [['k', intent(7)]] });
    expect(result).toEqual({ ok: true, report: { added: 1, updated: 0, removed: 0 } });
    expect(plugin().applied.at(-1)?.get('a.kind')).toEqual([intent(7)]);
    await starting;
  });

  it("gives a source that watches from its start the events of plugins that start running later", async () => {
    const { agent, plugin, source } = setup({ slow: { open: 100 } });
    const starting = agent.start();
    while (!source()?.sink) await sleep(1);
    const seen: unknown[] = [];
    const stop = source()!.context.watch('pa.event', (e) => seen.push(e));
    await starting;
    plugin().emitEvent('pa.event', { n: 1 });
    stop();
    plugin().emitEvent('pa.event', { n: 2 });
    expect(seen).toEqual([{ n: 1 }]);
  });
});
