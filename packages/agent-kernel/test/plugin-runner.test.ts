import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { unprobedFeatures } from '../src/feature-probe.js';
import { PluginRunner } from '../src/plugin-runner.js';
import { captureLogger, fakePlugin, type FakePluginOptions, type Step } from './fakes.js';

function runner(opts: FakePluginOptions) {
  const journal: string[] = [];
  const factory = fakePlugin('p', journal, { intents: { 'a.kind': z.looseObject({}) }, ...opts });
  const r = new PluginRunner({
    entry: { id: 'p', factory, config: {}, index: 0 },
    logger: captureLogger().logger,
    pinRoot: '/sys/fs/bpf/test',
    timeouts: { openMs: 200, applyMs: 200, closeMs: 200 },
    probe: unprobedFeatures,
    desired: () => new Map([['a.kind', [{ kind: 'a.kind' }]]]),
  });
  return { r, plugin: () => factory.instances[0]! };
}

describe('PluginRunner releases a failed plugin', () => {
  it.each<Step>(['open', 'load', 'seed', 'attach'])(
    'a start failing at %s keeps the pins of an earlier run and discards its own',
    async (step) => {
      const { r, plugin } = runner({ fail: [step] });
      expect(await r.start()).toBe(false);
      expect(r.state).toBe('failed');
      expect(plugin().closedWith).toEqual({ keepPinned: true, discardNew: true });
    },
  );

  it('a plugin failing while running (apply past applyMs) keeps every pin', async () => {
    const { r, plugin } = runner({ hang: ['apply'] });
    expect(await r.start()).toBe(true);
    expect(await r.requestApply()).toMatchObject({ ok: false, error: 'apply timed out after 200 ms' });
    expect(r.state).toBe('failed');
    expect(plugin().closedWith).toEqual({ keepPinned: true });
  });
});
