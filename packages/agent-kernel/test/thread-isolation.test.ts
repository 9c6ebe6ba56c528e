// Plugins in worker threads, through the agent: a step that really blocks (Atomics.wait, like a
// long synchronous FFI call) neither stalls the agent nor escapes its time-out.
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Agent } from '../src/agent.js';
import type { PluginFactory } from '../src/contracts.js';
import { createAgent } from '../src/create-agent.js';
import { pluginModule, sourceModule } from '../src/container-modules.js';
import { captureLogger, fakePlugin, fakeSource } from './fakes.js';
// @ts-expect-error plain JavaScript fixture (a plugin thread imports it as it is)
import { threadPlugin as fixture } from './fixtures/thread-plugin.mjs';

const agents: Agent[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) await a.stop();
});

const threadPlugin: PluginFactory = {
  ...(fixture as PluginFactory),
  configSchema: z.looseObject({}),
  intents: { 'k.thing': z.looseObject({ v: z.number() }) },
};

// generous time-outs: starting a thread and importing the plugin takes a while on a loaded machine
function agentWith(pluginConfig: Record<string, unknown>, timeouts = { openMs: 2000, applyMs: 2000, closeMs: 500 }, isolation?: 'inline') {
  const journal: string[] = [];
  const source = fakeSource(journal);
  const { logger, records } = captureLogger();
  const agent = createAgent({
    plugins: [threadPlugin],
    sources: [source],
    logger,
    config: {
      agent: { adminSocket: false, pinRoot: '/sys/fs/bpf/test-threads', timeouts, ...(isolation && { isolation }) },
      plugins: [{ id: 'thread-plugin', ...pluginConfig }],
      sources: [{ type: 'fake', name: 's', initial: [{ kind: 'k.thing', v: 1 }, { kind: 'k.thing', v: 2 }] }],
    },
  });
  agents.push(agent);
  return { agent, source, records };
}

describe('plugins in worker threads', () => {
  it('applies and reports through the thread', async () => {
    const { agent, source } = agentWith({});
    await agent.start();
    const status = await agent.status();
    expect(status.plugins[0]).toMatchObject({
      state: 'running',
      maps: [{ name: 'm', entries: 2, maxEntries: 10 }],
      details: { applies: 1 },
      lastApply: { ok: true, report: { added: 2, updated: 0, removed: 0 } },
    });
    const result = await source.instances[0]!.sink!.commit([{ kind: 'k.thing', v: 3 }]);
    expect(result).toEqual({ ok: true, report: { added: 1, updated: 0, removed: 2 } });
    const refused = await source.instances[0]!.sink!.commit([{ kind: 'k.thing', v: 4, reject: true }]);
    expect(refused).toMatchObject({ ok: false, reason: 'invalid' });
  });

  it('times out a step that really blocks, while the agent keeps answering', async () => {
    const { agent, records } = agentWith({ block: { step: 'attach', ms: 20_000 } });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const began = performance.now();
    await agent.start();
    clearInterval(timer);
    const elapsed = performance.now() - began;
    expect(elapsed).toBeLessThan(10_000); // the 20 s block did not hold the agent
    expect(ticks).toBeGreaterThan(elapsed / 10 / 4); // its timers kept firing through the block
    const status = await agent.status();
    expect(status.plugins[0]).toMatchObject({ state: 'failed', error: 'attach timed out after 2000 ms' });
    expect(records.some((r) => r.msg === 'plugin failed: attach timed out after 2000 ms')).toBe(true);
  });

  it('times out an apply that really blocks and stops trusting the plugin', async () => {
    const { agent } = agentWith({ block: { step: 'apply', ms: 20_000 } });
    const began = performance.now();
    await agent.start();
    expect(performance.now() - began).toBeLessThan(10_000);
    expect((await agent.status()).plugins[0]).toMatchObject({ state: 'failed', error: 'apply timed out after 2000 ms' });
  });

  it('hands the plugin in its thread what another plugin provides, by token', async () => {
    const BYPASS_MAP = Symbol.for('bpfsteer.test.ThreadBypassMap');
    const consumer: PluginFactory = { ...threadPlugin, needs: { [BYPASS_MAP]: { description: 'a pin' } } };
    const provider = fakePlugin('provider', [], { provides: { [BYPASS_MAP]: (_config, pinRoot) => ({ pinPath: `${pinRoot}/maps/m` }) } });
    const source = fakeSource([]);
    const { logger } = captureLogger();
    const agent = createAgent({
      modules: [pluginModule(consumer, provider), sourceModule(source)],
      logger,
      config: {
        agent: { adminSocket: false, pinRoot: '/sys/fs/bpf/test-threads', timeouts: { openMs: 2000, applyMs: 2000, closeMs: 500 } },
        plugins: [{ id: 'thread-plugin' }, { id: 'provider' }],
        sources: [{ type: 'fake', name: 's', initial: [] }],
      },
    });
    agents.push(agent);
    await agent.start();
    expect(Object.fromEntries((await agent.status()).plugins.map((p) => [p.id, p.state]))).toEqual({ provider: 'running', 'thread-plugin': 'running' });
    const seen = (await source.instances[0]!.context.describe!('k.thing')) as { provided: unknown } | undefined;
    expect(seen?.provided).toEqual({ 'bpfsteer.test.ThreadBypassMap': { pinPath: '/sys/fs/bpf/test-threads/provider/maps/m' } });
  });

  it('runs the same plugin on the agent thread with isolation: inline', async () => {
    const { agent } = agentWith({}, undefined, 'inline');
    await agent.start();
    expect((await agent.status()).plugins[0]).toMatchObject({ state: 'running', details: { applies: 1 } });
  });
});
