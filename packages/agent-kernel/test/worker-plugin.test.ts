import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DesiredState, Intent } from '../src/contracts.js';
import { IntentRejectedError, PluginThreadError } from '../src/errors.js';
import { RESULT_PART_ITEMS, splitLargeArrays } from '../src/plugin-worker.js';
import { WorkerPlugin } from '../src/worker-plugin.js';
import { captureLogger } from './fakes.js';

const fixture = new URL('./fixtures/thread-plugin.mjs', import.meta.url).href;
const plugins: WorkerPlugin[] = [];
afterEach(async () => {
  for (const p of plugins.splice(0)) await p.close({ keepPinned: true }).catch(() => undefined);
});

function start(config: unknown = {}, exportName = 'threadPlugin') {
  const { logger, records } = captureLogger();
  const controller = new AbortController();
  const plugin = new WorkerPlugin({
    id: 'tp',
    module: fixture,
    export: exportName,
    config,
    context: { logger, pinRoot: '/sys/fs/bpf/test-thread', signal: controller.signal },
    closeMs: 500,
  });
  plugins.push(plugin);
  return { plugin, records, controller };
}

const intent = (v: number, extra: object = {}): Intent => Object.freeze({ kind: 'k', v, ...extra });
const state = (list: readonly Intent[]): DesiredState => new Map([['k', list]]);

describe('WorkerPlugin', () => {
  it('runs the lifecycle in its thread and relays its logs with their level', async () => {
    const { plugin, records } = start();
    for (const step of ['open', 'load', 'seed', 'attach'] as const) await plugin[step]();
    expect(await plugin.status()).toEqual({
      attachments: [{ target: 'nowhere', type: 'none' }],
      maps: [{ name: 'm', entries: 0, maxEntries: 10 }],
      details: { applies: 0 },
    });
    await plugin.close({ keepPinned: false });
    const created = records.find((r) => r.msg === 'thread plugin created');
    expect(created).toMatchObject({ level: 'info', pinRoot: '/sys/fs/bpf/test-thread' });
    expect(records.find((r) => r.msg === 'thread plugin closed')).toMatchObject({ level: 'warn', keepPinned: false });
  });

  it('sends only changed positions: unchanged intents stay the same objects in the thread', async () => {
    const { plugin } = start();
    await plugin.open();
    const list = Array.from({ length: 10_000 }, (_, i) => intent(i));
    expect(await plugin.apply(state(list))).toEqual({ added: 10_000, updated: 0, removed: 0 });
    // swap-remove of #3 and one append: two positions change
    const next = [...list];
    next[3] = next.pop()!;
    next.push(intent(10_000));
    expect(await plugin.apply(state(next))).toEqual({ added: 2, updated: 0, removed: 2 });
    expect(await plugin.apply(state(next))).toEqual({ added: 0, updated: 0, removed: 0 });
    const shrunk = next.slice(0, 5);
    expect(await plugin.apply(state(shrunk))).toEqual({ added: 0, updated: 0, removed: 9_995 });
    const seen = (await plugin.describe('k')) as { applies: { values: number[] }[] };
    expect(seen.applies.at(-1)!.values).toEqual(shrunk.map((i) => i.v));
    expect(seen.applies[1]!.values).toEqual(next.map((i) => i.v));
  });

  it("sends the agent's changes as they are when the thread holds their base, else compares the lists", async () => {
    const { plugin } = start();
    await plugin.open();
    const a = Array.from({ length: 10 }, (_, i) => intent(i));
    await plugin.apply(state(a));
    const b = [...a, intent(100, { reject: true })];
    await expect(plugin.apply(state(b), new Map([['k', { before: 10, positions: [10] }]]))).rejects.toBeInstanceOf(IntentRejectedError);
    // relative to `a` (the last successful apply), while the thread holds `b`
    const c = [...a.slice(0, 9), intent(200)];
    expect(await plugin.apply(state(c), new Map([['k', { before: 10, positions: [9] }]]))).toEqual({ added: 1, updated: 0, removed: 1 });
    const d = [...c, intent(300)];
    expect(await plugin.apply(state(d), new Map([['k', { before: 10, positions: [10] }]]))).toEqual({ added: 1, updated: 0, removed: 0 });
    const seen = (await plugin.describe('k')) as { applies: { values: number[] }[] };
    expect(seen.applies.at(-2)!.values).toEqual(c.map((i) => i.v));
    expect(seen.applies.at(-1)!.values).toEqual(d.map((i) => i.v));
  });

  it('brings a large result back in bounded parts, the loop turning between them (issue 9: dumps never stall the agent)', async () => {
    const original = Worker.prototype.emit;
    let ticks = 0;
    let ticking = true;
    const tick = (): void => {
      ticks++;
      if (ticking) setImmediate(tick);
    };
    const messages: { t: string; items: number; ticks: number }[] = [];
    const emit = vi.spyOn(Worker.prototype, 'emit').mockImplementation(function (this: Worker, event: string | symbol, ...args: unknown[]) {
      const message = args[0] as { t?: string; items?: unknown[] } | undefined;
      if (event === 'message' && (message?.t === 'result' || message?.t === 'part')) {
        messages.push({ t: message.t, items: message.items?.length ?? 0, ticks });
      }
      return original.call(this, event, ...args);
    });
    try {
      const { plugin } = start();
      await plugin.open();
      const item = (i: number) => ({ i, name: `item-${i}` });
      tick();
      const described = await plugin.describe('large:20000');
      ticking = false;
      expect(described).toEqual({
        kind: 'large:20000',
        items: Array.from({ length: 20_000 }, (_, i) => item(i)),
        nested: { more: Array.from({ length: 10_000 }, (_, i) => item(i)), small: [1, 2] },
      });
      const call = messages.slice(messages.findLastIndex((m) => m.t === 'result'));
      const parts = call.filter((m) => m.t === 'part');
      expect(parts.length).toBe(Math.ceil(20_000 / RESULT_PART_ITEMS) + Math.ceil(10_000 / RESULT_PART_ITEMS));
      expect(parts.every((p) => p.items <= RESULT_PART_ITEMS)).toBe(true);
      // between two messages of the result, the agent's loop turned (its I/O and timers ran)
      for (let i = 1; i < call.length; i++) expect(call[i]!.ticks).toBeGreaterThan(call[i - 1]!.ticks);
      expect(await plugin.describe('large-array:9000')).toEqual(Array.from({ length: 9000 }, (_, i) => item(i)));
    } finally {
      ticking = false;
      emit.mockRestore();
    }
  });

  it('takes the large arrays out of a result without changing it', () => {
    const big = Array.from({ length: 10 }, (_, i) => i);
    const value = { a: big, b: { c: big, d: [1] }, e: [big], f: 'x' };
    const split = splitLargeArrays(value, 5);
    expect(split.value).toEqual({ a: [], b: { c: [], d: [1] }, e: [big], f: 'x' });
    expect(split.arrays).toEqual([{ path: ['a'], items: big }, { path: ['b', 'c'], items: big }]);
    expect(value.b.c).toBe(big);
    expect(splitLargeArrays(big, 5)).toEqual({ value: [], arrays: [{ path: [], items: big }] });
    expect(splitLargeArrays(value, 10)).toEqual({ value, arrays: [] });
    const own = JSON.parse(`{"__proto__":[${big.join(',')}]}`) as Record<string, unknown>;
    expect(splitLargeArrays(own, 5).arrays).toEqual([{ path: ['__proto__'], items: big }]);
  });

  it('turns a rejection in the thread into IntentRejectedError and other errors into PluginThreadError', async () => {
    const { plugin } = start();
    await plugin.open();
    await expect(plugin.apply(state([intent(1, { reject: true })]))).rejects.toBeInstanceOf(IntentRejectedError);
    const bad = start({}, 'noSuchExport').plugin;
    const err = await bad.open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PluginThreadError);
    expect((err as Error).message).toMatch(/cannot create the plugin in its thread: .*has no plugin factory export "noSuchExport"/);
  });

  it('relays events of a watched topic until unsubscribed', async () => {
    const { plugin } = start();
    await plugin.open();
    const seen: unknown[] = [];
    const stop = plugin.watch('applied', (e) => seen.push(e));
    await plugin.apply(state([intent(1)]));
    await new Promise((r) => setTimeout(r, 20));
    stop();
    await plugin.apply(state([intent(2)]));
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual([{ n: 1 }]);
  });

  it('keeps the agent thread running while a step blocks its thread, and ends a blocked thread at close', async () => {
    const { plugin } = start({ block: { step: 'open', ms: 20_000 } });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const began = performance.now();
    const opened = plugin.open();
    await new Promise((r) => setTimeout(r, 300));
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(10); // the agent's loop was never held by the blocked step
    await plugin.close({ keepPinned: true }).catch(() => undefined); // the close call waits closeMs, then ends the thread
    expect(performance.now() - began).toBeLessThan(10_000); // not the 20 s of the block
    await expect(opened).rejects.toBeInstanceOf(PluginThreadError);
  });

  it('fails every pending and later call when its thread dies', async () => {
    const { plugin } = start({ crash: 'load' });
    await plugin.open();
    await plugin.load().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 50));
    await expect(plugin.seed()).rejects.toThrow(/thread (failed|ended)/);
  });

  it('forwards the agent shutdown signal', async () => {
    const { plugin, controller } = start();
    await plugin.open();
    controller.abort(new Error('agent shutting down'));
    await new Promise((r) => setTimeout(r, 20));
    expect(await plugin.describe('k')).toMatchObject({ aborted: true });
  });
});
