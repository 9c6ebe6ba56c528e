import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { CloseOptions, DesiredState, PluginContext } from '../src/contracts.js';
import { definePlugin, type PluginSteps } from '../src/define-plugin.js';
import { AgentStateError } from '../src/errors.js';
import { unprobedFeatures } from '../src/feature-probe.js';
import { PluginRunner } from '../src/plugin-runner.js';
import { captureLogger } from './fakes.js';

class FakeDataplane {
  readonly calls: string[] = [];
  statusFails = false;
  statusCalls = 0;
  close(options: CloseOptions): void {
    this.calls.push(`close ${JSON.stringify(options)}`);
  }
}

const configSchema = z.strictObject({ size: z.number().default(7) });
type Config = z.output<typeof configSchema>;

function factory(extra: Partial<PluginSteps<FakeDataplane>> = {}) {
  const seen: { config?: Config; dataplanes: FakeDataplane[]; journal: string[] } = { dataplanes: [], journal: [] };
  const plugin = definePlugin<Config, FakeDataplane>({
    id: 'kit',
    description: 'a plugin of one fake dataplane',
    configSchema,
    intents: { 'kit.kind': z.looseObject({}) },
    requires: [],
    steps: (config) => {
      seen.config = config;
      return {
        open: () => {
          const dp = new FakeDataplane();
          seen.dataplanes.push(dp);
          return dp;
        },
        load: (dp) => void dp.calls.push('load'),
        seed: (dp) => void dp.calls.push('seed'),
        attach: (dp) => void dp.calls.push('attach'),
        apply: (dp, desired) => {
          dp.calls.push('apply');
          return { added: desired.get('kit.kind')?.length ?? 0, updated: 0, removed: 0 };
        },
        status: (dp) => {
          dp.statusCalls++;
          if (dp.statusFails) throw new Error('kit: status: the maps cannot be read');
          return { attachments: [{ target: 'eth0 egress', type: 'tcx-egress' }], maps: [], details: { size: seen.config?.size } };
        },
        beforeClose: () => void seen.journal.push('beforeClose'),
        ...extra,
      };
    },
  });
  return { plugin, seen };
}

const context = (): PluginContext => ({ logger: captureLogger().logger, pinRoot: '/sys/fs/bpf/test/kit', signal: new AbortController().signal });

/** The agent's runner of `plugin` (config { size: 2 }) on the agent's thread. */
function inlineRunner(plugin: ConstructorParameters<typeof PluginRunner>[0]['entry']['factory']): PluginRunner {
  return new PluginRunner({
    entry: { id: 'kit', factory: plugin, config: { size: 2 }, index: 0 },
    logger: captureLogger().logger,
    pinRoot: '/sys/fs/bpf/test',
    timeouts: { openMs: 200, applyMs: 200, closeMs: 200 },
    isolation: 'inline',
    probe: unprobedFeatures,
    desired: () => new Map(),
  });
}

describe('definePlugin', () => {
  it('keeps the declarations and hands the steps the config parsed by the schema', () => {
    const { plugin, seen } = factory();
    expect(plugin).toMatchObject({ id: 'kit', requires: [], description: 'a plugin of one fake dataplane' });
    expect(Object.keys(plugin.intents)).toEqual(['kit.kind']);
    plugin.create({} as Config, context());
    expect(seen.config).toEqual({ size: 7 });
    expect(() => plugin.create({ size: 'x' } as unknown as Config, context())).toThrow(/size/);
  });

  it('maps each lifecycle step onto the open dataplane, and closes it once', async () => {
    const { plugin, seen } = factory();
    const p = plugin.create({ size: 3 }, context());
    await p.open();
    await p.load();
    await p.seed();
    await p.attach();
    const desired: DesiredState = new Map([['kit.kind', [{ kind: 'kit.kind' }, { kind: 'kit.kind' }]]]);
    expect(await p.apply(desired)).toEqual({ added: 2, updated: 0, removed: 0 });
    expect(p.status()).toEqual({ attachments: [{ target: 'eth0 egress', type: 'tcx-egress' }], maps: [], details: { size: 3 } });
    await p.close({ keepPinned: true });
    await p.close({ keepPinned: false });
    const [dp] = seen.dataplanes;
    expect(dp!.calls).toEqual(['load', 'seed', 'attach', 'apply', 'close {"keepPinned":true}']);
    expect(seen.journal).toEqual(['beforeClose']);
  });

  it('refuses a step before open and after close with a clear error', async () => {
    const { plugin } = factory();
    const p = plugin.create({ size: 1 }, context());
    await expect(p.load()).rejects.toThrow(AgentStateError);
    await expect(p.load()).rejects.toThrow(/^plugin kit: load: open\(\) has not run$/);
    expect(() => p.status()).toThrow(/^plugin kit: status: open\(\) has not run$/);
    await p.close({ keepPinned: false }); // nothing open: nothing to close
    await expect(p.open()).rejects.toThrow(/^plugin kit: open: the plugin is closed$/);
    await expect(p.apply(new Map())).rejects.toThrow(/^plugin kit: apply: the plugin is closed$/);
  });

  it('offers describe and watch only when the steps have them', async () => {
    const bare = factory().plugin.create({ size: 1 }, context());
    expect(bare.describe).toBeUndefined();
    expect(bare.watch).toBeUndefined();
    const events: unknown[] = [];
    const rich = factory({
      describe: (_dp, kind) => ({ kind }),
      watch: (topic, listener) => {
        listener({ topic });
        return () => undefined;
      },
    }).plugin.create({ size: 1 }, context());
    await rich.open();
    expect(await rich.describe!('kit.kind')).toEqual({ kind: 'kit.kind' });
    expect(typeof rich.watch!('kit.event', (e) => events.push(e))).toBe('function');
    expect(events).toEqual([{ topic: 'kit.event' }]);
  });

  it('a status that fails reaches the agent as statusError, not as an empty status', async () => {
    const { plugin, seen } = factory();
    const runner = inlineRunner(plugin);
    expect(await runner.start()).toBe(true);
    expect(await runner.report()).toMatchObject({ state: 'running', attachments: [{ target: 'eth0 egress' }], details: { size: 2 } });
    seen.dataplanes[0]!.statusFails = true;
    const report = await runner.report();
    expect(report.statusError).toBe('kit: status: the maps cannot be read');
    expect(report.state).toBe('running');
    await runner.close(false);
    expect(seen.dataplanes[0]!.calls.at(-1)).toBe('close {"keepPinned":false}');
  });

  it('reports asked while a status call is in flight share it: pollers never queue status calls in the plugin', async () => {
    const { plugin, seen } = factory();
    const runner = inlineRunner(plugin);
    expect(await runner.start()).toBe(true);
    const statusCalls = () => seen.dataplanes[0]!.statusCalls;
    const reports = await Promise.all([runner.report(), runner.report(), runner.report()]);
    expect(reports.map((r) => r.details)).toEqual([{ size: 2 }, { size: 2 }, { size: 2 }]);
    expect(statusCalls()).toBe(1);
    await runner.report(); // once settled, the next report asks again
    expect(statusCalls()).toBe(2);
    await runner.close(false);
  });
});
