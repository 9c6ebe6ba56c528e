// A plugin's light entry: the main thread holds only its declarations; the implementation is
// imported by the plugin's thread, or at `open` when the plugin runs on the agent's thread.
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Agent } from '../src/agent.js';
import { pluginModule } from '../src/container-modules.js';
import { createAgent } from '../src/create-agent.js';
import { type PluginEntryDeclaration, pluginEntry } from '../src/plugin-entry.js';
import { captureLogger, fakeSource } from './fakes.js';

const agents: Agent[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) await a.stop();
});

const fixture = new URL('./fixtures/thread-plugin.mjs', import.meta.url).href;
const declaration = (worker: PluginEntryDeclaration<unknown>['worker']): PluginEntryDeclaration<unknown> => ({
  id: 'thread-plugin',
  description: 'light entry of the thread fixture',
  configSchema: z.looseObject({}),
  intents: { 'k.thing': z.looseObject({ v: z.number() }) },
  requires: [],
  worker,
});

async function run(worker: PluginEntryDeclaration<unknown>['worker'], isolation: 'thread' | 'inline') {
  const source = fakeSource([]);
  const { logger } = captureLogger();
  const agent = createAgent({
    modules: [pluginModule(pluginEntry(declaration(worker)))],
    sources: [source],
    logger,
    config: {
      agent: { adminSocket: false, pinRoot: '/sys/fs/bpf/test-entry', isolation, timeouts: { openMs: 5000, applyMs: 2000, closeMs: 500 } },
      plugins: [{ id: 'thread-plugin' }],
      sources: [{ type: 'fake', name: 's', initial: [{ kind: 'k.thing', v: 1 }] }],
    },
  });
  agents.push(agent);
  await agent.start();
  return (await agent.status()).plugins[0]!;
}

describe('pluginEntry', () => {
  it('runs the implementation its worker names, in a thread', async () => {
    const s = await run({ module: fixture, export: 'threadPlugin' }, 'thread');
    expect(s).toMatchObject({ state: 'running', details: { applies: 1 } });
  });

  it('imports the implementation at open on the agent thread (isolation: inline)', async () => {
    expect(await run({ module: fixture, export: 'threadPlugin' }, 'inline')).toMatchObject({ state: 'running', details: { applies: 1 } });
  });

  it('fails the plugin with the module and export named when the implementation is not there', async () => {
    const status = await run({ module: fixture, export: 'noSuchPlugin' }, 'inline');
    expect(status.state).toBe('failed');
    expect(status.error).toContain(`plugin thread-plugin: ${fixture} has no plugin factory export "noSuchPlugin"`);
  });

  it('refuses an implementation of another plugin', async () => {
    const other = `data:text/javascript,export const p = { id: 'other', create() {} };`;
    const status = await run({ module: other, export: 'p' }, 'inline');
    expect(status.error).toContain('exports "p" as the factory of plugin "other"');
  });
});
