import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { unprobedFeatures } from '../src/feature-probe.js';
import { PluginRunner, STATUS_WAIT_MS } from '../src/plugin-runner.js';
import { captureLogger, fakePlugin, type FakePluginOptions, type Step } from './fakes.js';

function runner(opts: FakePluginOptions, now?: () => number) {
  const journal: string[] = [];
  const factory = fakePlugin('p', journal, { intents: { 'a.kind': z.looseObject({}) }, ...opts });
  const r = new PluginRunner({
    entry: { id: 'p', factory, config: {}, index: 0 },
    logger: captureLogger().logger,
    pinRoot: '/sys/fs/bpf/test',
    timeouts: { openMs: 200, applyMs: 200, closeMs: 200 },
    probe: unprobedFeatures,
    desired: () => new Map([['a.kind', [{ kind: 'a.kind' }]]]),
    ...(now && { now }),
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

describe('PluginRunner reports a plugin busy in a long apply', () => {
  it('waits a little for its status, then shows the last one; once the apply ran longer than that, at once', async () => {
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    let clock = 0; // how long the apply has run, as the runner sees it
    const { r, plugin } = runner({ applyDelayMs: 150 }, () => clock); // (applyMs: 200)
    expect(await r.start()).toBe(true);
    // its status answers after the apply under way, as a plugin's thread would
    const fake = plugin();
    const idle = fake.status.bind(fake);
    fake.status = (async () => {
      while (fake.running > 0) await sleep(2);
      return idle();
    }) as unknown as typeof fake.status;
    const before = await r.report();
    expect(before.statusAt).toBeUndefined();

    /** Whether a report settles without waiting for a timer (before the loop's next check phase). */
    const atOnce = async (report: Promise<unknown>) =>
      (await Promise.race([report.then(() => 'at once'), new Promise((resolve) => setImmediate(() => resolve('waits')))])) === 'at once';

    const applying = r.requestApply();
    while (fake.running === 0) await new Promise((resolve) => setImmediate(resolve));
    clock = 1;
    const earlyReport = r.report();
    expect(await atOnce(earlyReport)).toBe(false); // the apply only began: waited for
    const early = await earlyReport;
    expect(early.statusAt).toBeDefined(); // the wait ended: the last status
    clock = STATUS_WAIT_MS;
    const laterReport = r.report();
    expect(await atOnce(laterReport)).toBe(true); // the apply ran longer than the wait: not waited for
    const later = await laterReport;
    expect(later.statusAt).toBe(early.statusAt);
    expect(later.maps).toEqual(before.maps);
    expect(await applying).toMatchObject({ ok: true });
    const after = await r.report();
    expect(after.statusAt).toBeUndefined();
    expect(after.maps[0]!.entries).toBe(1);
  });
});
