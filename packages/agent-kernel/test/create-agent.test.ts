// The agent composed from container modules: each part contributes a module, and what one plugin
// provides to another is bound in the container by token and resolved for the plugin that needs it.
import { Container, ContainerModule } from 'inversify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Agent } from '../src/agent.js';
import { agentKernelModule, contributedFactories, pluginModule, provisionsModule, sourceModule } from '../src/container-modules.js';
import { createAgent } from '../src/create-agent.js';
import { ConfigError } from '../src/errors.js';
import { parseAgentConfig } from '../src/parse-agent-config.js';
import { staticSource } from '../src/static-source.js';
import { Tokens } from '../src/tokens.js';
import { captureLogger, fakePlugin, fakeSource } from './fakes.js';

const BYPASS_MAP = Symbol.for('bpfsteer.test.BypassMap');
const journal: string[] = [];
const agents: Agent[] = [];
beforeEach(() => {
  journal.length = 0;
});
afterEach(async () => {
  for (const a of agents.splice(0)) await a.stop();
});

const provider = () =>
  fakePlugin('provider', journal, { provides: { [BYPASS_MAP]: (config, pinRoot) => ({ pinPath: `${pinRoot}/maps/bypass`, config }) } });
const consumer = (optional = false) =>
  fakePlugin('consumer', journal, { needs: { [BYPASS_MAP]: { description: "the provider's bypass map", optional } } });

describe('the agent composed from modules', () => {
  it('takes the factories of plugin and source modules', () => {
    const p = provider();
    const source = fakeSource(journal);
    expect(contributedFactories(pluginModule(p), sourceModule(source, staticSource))).toEqual({
      plugins: [p],
      sources: [source, staticSource],
    });
  });

  it('resolves a need through the container: the provider starts first, closes last, and its value reaches the consumer', async () => {
    const c = consumer();
    const p = provider();
    const { logger } = captureLogger();
    const agent = createAgent({
      modules: [pluginModule(c), pluginModule(p)],
      logger,
      config: {
        agent: { adminSocket: false, pinRoot: '/sys/fs/bpf/test-modules/' },
        plugins: [{ id: 'consumer' }, { id: 'provider', size: 7 }],
      },
    });
    agents.push(agent);
    await agent.start();
    expect(journal.filter((j) => j.endsWith(':create'))).toEqual(['provider:create', 'consumer:create']);
    expect(c.instances[0]!.context.provided).toEqual(
      new Map([[BYPASS_MAP, { pinPath: '/sys/fs/bpf/test-modules/provider/maps/bypass', config: { size: 7 } }]]),
    );
    expect(p.instances[0]!.context.provided).toEqual(new Map());
    journal.length = 0;
    await agent.stop();
    expect(journal).toEqual(['consumer:close(unpin)', 'provider:close(unpin)']);
  });

  it('refuses a config that lacks the provider of a need, naming who could provide it', () => {
    const attempt = () =>
      createAgent({
        modules: [pluginModule(consumer(), provider())],
        config: { agent: { adminSocket: false }, plugins: [{ id: 'consumer' }] },
      });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(
      `plugins[0].id: plugin "consumer" needs "bpfsteer.test.BypassMap" (the provider's bypass map), which no configured plugin provides; add "provider"`,
    );
  });

  it('runs a consumer of an optional need without a provider, with nothing provided', async () => {
    const c = consumer(true);
    const { logger } = captureLogger();
    const agent = createAgent({ modules: [pluginModule(c)], logger, config: { agent: { adminSocket: false }, plugins: [{ id: 'consumer' }] } });
    agents.push(agent);
    await agent.start();
    expect(c.instances[0]!.context.provided).toEqual(new Map());
  });

  it('binds only the needed values, by token, once', () => {
    const p = provider();
    let computed = 0;
    const counting = { ...p, provides: { [BYPASS_MAP]: () => ({ n: ++computed }) } };
    const config = parseAgentConfig(
      { plugins: [{ id: 'consumer' }, { id: 'provider' }] },
      { plugins: [consumer(), counting], sources: [] },
    );
    const container = new Container();
    container.load(agentKernelModule(), provisionsModule(config));
    expect(computed).toBe(0);
    expect(container.get(BYPASS_MAP)).toEqual({ n: 1 });
    expect(container.get(BYPASS_MAP)).toEqual({ n: 1 });
    const alone = parseAgentConfig({ plugins: [{ id: 'provider' }] }, { plugins: [counting], sources: [] });
    const empty = new Container();
    empty.load(provisionsModule(alone));
    expect(empty.isBound(BYPASS_MAP)).toBe(false);
  });

  it('lets a module bind a kernel service by token (explicit options win)', () => {
    const { logger: fromModule } = captureLogger();
    const agent = createAgent({
      modules: [new ContainerModule(({ bind }) => void bind(Tokens.Logger).toConstantValue(fromModule))],
      config: { agent: { adminSocket: false } },
    });
    expect((agent as unknown as { logger: unknown }).logger).toBe(fromModule);
  });
});
