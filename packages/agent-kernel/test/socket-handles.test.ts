// The agent's socket-handle registry (Tokens.SocketHandles): bound by the application, handed to
// sources and plugins, its handle table sent to a plugin's thread ahead of an apply when it changed,
// and closed when the agent stops (after the plugins closed).
import { afterEach, describe, expect, it } from 'vitest';
import type { SocketHandleRegistry } from '@bpfsteer/core-bpf';
import type { Agent } from '../src/agent.js';
import type { DesiredState, Intent } from '../src/contracts.js';
import { createAgent } from '../src/create-agent.js';
import { WorkerPlugin } from '../src/worker-plugin.js';
import { captureLogger, fakePlugin, fakeSource } from './fakes.js';

/** A registry as the agent kernel sees it, over a plain table (core-bpf's SocketHandles is the real one). */
function fakeRegistry(journal: string[] = []) {
  const table = new Map<string, number>();
  let version = 0;
  const registry: SocketHandleRegistry = {
    register: () => {
      throw new Error('not used here');
    },
    fd: (h) => {
      const fd = table.get(h);
      if (fd === undefined) throw new Error(`socket handle ${JSON.stringify(h)} not found`);
      return fd;
    },
    release: () => undefined,
    committer: () => ({ begin: () => 0, settle: () => undefined, end: () => undefined }),
    table: () => new Map(table),
    get version() {
      return version;
    },
    closeAll: () => {
      journal.push('registry:closeAll');
      table.clear();
    },
  };
  const set = (entries: [string, number][]): void => {
    table.clear();
    for (const [h, fd] of entries) table.set(h, fd);
    version += 1;
  };
  return { registry, set };
}

const agents: Agent[] = [];
const threads: WorkerPlugin[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) await a.stop();
  for (const p of threads.splice(0)) await p.close({ keepPinned: true }).catch(() => undefined);
});

describe('the socket-handle registry in the agent', () => {
  it('reaches sources and plugins, and is closed when the agent stops, after the plugins', async () => {
    const journal: string[] = [];
    const { registry } = fakeRegistry(journal);
    const plugin = fakePlugin('p', journal);
    const source = fakeSource(journal);
    const { logger } = captureLogger();
    const agent = createAgent({
      plugins: [plugin],
      sources: [source],
      socketHandles: registry,
      logger,
      config: { agent: { adminSocket: false, pinRoot: '/sys/fs/bpf/test-handles' }, plugins: [{ id: 'p' }], sources: [{ type: 'fake', name: 's', initial: [] }] },
    });
    agents.push(agent);
    await agent.start();
    expect(source.instances[0]!.context.socketHandles).toBe(registry);
    expect(plugin.instances[0]!.context.socketHandles).toBe(registry);
    journal.length = 0;
    await agent.stop();
    expect(journal.slice(-2)).toEqual(['p:close(unpin)', 'registry:closeAll']);
  });

  it('without one, sources and plugins get none', async () => {
    const journal: string[] = [];
    const plugin = fakePlugin('p', journal);
    const source = fakeSource(journal);
    const agent = createAgent({
      plugins: [plugin],
      sources: [source],
      logger: captureLogger().logger,
      config: { agent: { adminSocket: false, pinRoot: '/sys/fs/bpf/test-handles' }, plugins: [{ id: 'p' }], sources: [{ type: 'fake', name: 's', initial: [] }] },
    });
    agents.push(agent);
    await agent.start();
    expect(source.instances[0]!.context.socketHandles).toBeUndefined();
    expect(plugin.instances[0]!.context.socketHandles).toBeUndefined();
  });

  it("a plugin in its thread resolves handles by the table sent ahead of each apply that follows a change of it", async () => {
    const { registry, set } = fakeRegistry();
    const start = (socketHandles?: SocketHandleRegistry) => {
      const plugin = new WorkerPlugin({
        id: 'tp',
        module: new URL('./fixtures/thread-plugin.mjs', import.meta.url).href,
        export: 'threadPlugin',
        config: {},
        context: { logger: captureLogger().logger, pinRoot: '/sys/fs/bpf/test-thread', signal: new AbortController().signal },
        closeMs: 500,
        socketHandles,
      });
      threads.push(plugin);
      return plugin;
    };
    const named = (v: number, handle: string): Intent => Object.freeze({ kind: 'k', v, handle });
    const state = (...list: Intent[]): DesiredState => new Map([['k', list]]);
    const handlesSeen = async (plugin: WorkerPlugin) =>
      ((await plugin.describe('k')) as { applies: { handles?: unknown[] }[] }).applies.at(-1)!.handles;

    const plugin = start(registry);
    await plugin.open();
    set([['h:1', 7]]);
    await plugin.apply(state(named(1, 'h:1')));
    expect(await handlesSeen(plugin)).toEqual([7]);
    // h:1 closed, h:2 opened: the next apply sees the new table
    set([['h:2', 9]]);
    await plugin.apply(state(named(2, 'h:2'), named(1, 'h:1')));
    expect(await handlesSeen(plugin)).toEqual([9, 'socket handle "h:1" not found: it is not open in the agent\'s registry']);

    const without = start();
    await without.open();
    await without.apply(state(named(1, 'h:1')));
    expect(await handlesSeen(without)).toEqual(['no registry']);
  });
});
