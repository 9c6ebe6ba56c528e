/** RouterGenerations with a fake clock of live processes: which wishes a router restart sweeps, and when. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test, vi } from 'vitest';
import type { Rule, RuleSelector } from '../src/rule.js';
import { insertRule, emptyState, type ZitiState } from '../src/rule-store.js';
import { callerRuns, RouterGenerations, SAVE_DELAY_MS, type Caller } from '../src/router-generations.js';
import { generationsFile, readGenerations, writeGenerations, type GenerationsSnapshot } from '../src/router-generations-file.js';

afterEach(() => vi.useRealTimers());

const rule = (last: number, service?: string): Rule => ({
  destination: `10.0.0.${last}/32`,
  source: '0.0.0.0/0',
  protocol: 'tcp',
  ports: { low: 443, high: 443 },
  action: 'divert',
  tproxyPort: 4000 + last,
  interfaces: [],
  ...(service !== undefined && { service }),
});

const oldRouter: Caller = { pid: 100, start: 1 };
const newRouter: Caller = { pid: 200, start: 2 };
const shell: Caller = { pid: 300, start: 3 };

function setup(live: Caller[], graceMs = 1000) {
  let state: ZitiState = emptyState;
  for (const r of [rule(1, 'a'), rule(2, 'b'), rule(3, 'c'), rule(4)]) state = insertRule(state, r).state;
  const swept: RuleSelector[][] = [];
  const generations = new RouterGenerations({
    graceMs,
    rules: () => state.rules.values(),
    runs: (c) => live.some((l) => l.pid === c.pid && l.start === c.start),
    sweep: async (select) => void swept.push(select(state.rules.values())),
  });
  return { generations, swept, rules: () => [...state.rules.values()] };
}

test('after a new router\'s -V and inserts, the grace period later: the wishes of services it did not insert again go, if their router exited', async () => {
  vi.useFakeTimers();
  const { generations, swept } = setup([newRouter]);
  generations.inserted(rule(1), 'a', oldRouter);
  generations.inserted(rule(2), 'b', oldRouter);
  // rule 3 (service c) was saved before this agent started: made by someone unknown
  generations.started(newRouter);
  generations.inserted(rule(1), 'a', newRouter); // a again: kept, never removed
  await vi.advanceTimersByTimeAsync(999);
  expect(swept).toEqual([]);
  await vi.advanceTimersByTimeAsync(1);
  expect(swept).toHaveLength(1);
  expect(swept[0].map((s) => `${s.destination} ${s.service}`)).toEqual(['10.0.0.2/32 b', '10.0.0.3/32 c']); // not rule 4: no service
});

test('a -V from someone who inserts nothing (a person checking the version) sweeps nothing, nor stops the router\'s pending sweep', async () => {
  vi.useFakeTimers();
  const { generations, swept } = setup([]);
  generations.inserted(rule(1), 'a', oldRouter);
  generations.started(shell);
  await vi.advanceTimersByTimeAsync(5000);
  expect(swept.flat()).toEqual([]);
  generations.started(newRouter);
  generations.inserted(rule(1), 'a', newRouter);
  await vi.advanceTimersByTimeAsync(500);
  generations.started(shell); // a person during the router's grace period
  await vi.advanceTimersByTimeAsync(500);
  expect(swept[0].map((s) => s.service)).toEqual(['b', 'c']);
});

test('wishes whose inserter still runs stay; another -V restarts the wait; grace 0 never sweeps', async () => {
  vi.useFakeTimers();
  const { generations, swept } = setup([oldRouter, newRouter]);
  generations.inserted(rule(2), 'b', oldRouter); // still running (two routers on one host?)
  generations.started(newRouter);
  generations.inserted(rule(1), 'a', newRouter);
  await vi.advanceTimersByTimeAsync(600);
  const another: Caller = { pid: 201, start: 5 };
  generations.started(another); // a second restart inside the window: its own wait
  generations.inserted(rule(1), 'a', another);
  await vi.advanceTimersByTimeAsync(600);
  expect(swept).toEqual([]);
  await vi.advanceTimersByTimeAsync(400);
  expect(swept[0].map((s) => s.service)).toEqual(['c']); // c: unknown inserter; b: its router runs; a: inserted by the router now
  const never = setup([], 0);
  never.generations.started(newRouter);
  never.generations.inserted(rule(1), 'a', newRouter);
  await vi.advanceTimersByTimeAsync(10 ** 7);
  expect(never.swept).toEqual([]);
});

test('callerRuns reads /proc: this process runs; another start time (a reused pid) or no such pid does not', async () => {
  const { readFile } = await import('node:fs/promises');
  const stat = await readFile(`/proc/${process.pid}/stat`, 'utf8');
  const start = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  expect(callerRuns({ pid: process.pid, start })).toBe(true);
  expect(callerRuns({ pid: process.pid, start: start + 1 })).toBe(false);
  expect(callerRuns({ pid: 2 ** 22 + 7, start })).toBe(false);
});

test('the pass rules of the router config are never swept', async () => {
  vi.useFakeTimers();
  let state: ZitiState = insertRule(emptyState, { ...rule(9), action: 'pass', tproxyPort: undefined, service: 'router-config' }).state;
  state = insertRule(state, rule(1, 'a')).state;
  const swept: RuleSelector[][] = [];
  const generations = new RouterGenerations({ graceMs: 10, rules: () => state.rules.values(), runs: () => false, sweep: async (select) => void swept.push(select(state.rules.values())) });
  generations.started(newRouter);
  generations.inserted(rule(5), 'e', newRouter);
  await vi.advanceTimersByTimeAsync(20);
  expect(swept[0].map((s) => s.service)).toEqual(['a']);
});

test('the inserters of wishes that are gone are forgotten once many pile up (a long-running router with churning services)', () => {
  let state: ZitiState = emptyState;
  const generations = new RouterGenerations({ graceMs: 0, rules: () => state.rules.values(), runs: () => true, sweep: async () => undefined });
  state = insertRule(emptyState, rule(1, 'kept')).state;
  generations.inserted(rule(1), 'kept', oldRouter);
  for (let i = 0; i < 10_000; i++) generations.inserted(rule(i % 250), `gone-${i}`, oldRouter); // services deleted since
  expect(generations.tracked).toBeLessThan(4097);
  expect(generations.tracked).toBeGreaterThan(0);
});

describe('saved next to the state file: an agent restarted during the grace period sweeps as the one before it would have', () => {
  test('the saved -V, its inserts and the other inserters come back; the sweep comes when the period ends', async () => {
    vi.useFakeTimers();
    let clock = 50_000;
    const saves: GenerationsSnapshot[] = [];
    const first = setup([newRouter], 1000);
    const before = new RouterGenerations({
      graceMs: 1000,
      rules: () => first.rules(),
      runs: () => true,
      sweep: async () => undefined,
      now: () => clock,
      save: async (s) => void saves.push(s),
    });
    before.inserted(rule(2), 'b', oldRouter);
    before.started(newRouter); // saved at once
    await vi.advanceTimersByTimeAsync(0);
    expect(saves.at(-1)).toEqual({ candidate: { ...newRouter, since: 50_000 }, insertedBy: [[expect.any(String), oldRouter.pid, oldRouter.start]] });
    before.inserted(rule(1), 'a', newRouter);
    await vi.advanceTimersByTimeAsync(SAVE_DELAY_MS - 1);
    expect(saves).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1); // a second after the last insert
    expect(saves).toHaveLength(2);
    expect(saves.at(-1)).toMatchObject({ router: { ...newRouter, since: 50_000 } });
    expect(saves.at(-1)?.candidate).toBeUndefined();
    await before.stop(); // the agent stops 400 ms into the period (nothing changed since: no write)
    clock += 400;
    expect(saves).toHaveLength(2);

    // the next agent: old router gone, new router runs
    const swept: RuleSelector[][] = [];
    const after = new RouterGenerations({
      graceMs: 1000,
      rules: () => first.rules(),
      runs: (c) => c.pid === newRouter.pid && c.start === newRouter.start,
      sweep: async (select) => void swept.push(select(first.rules())),
      now: () => clock,
      saved: saves.at(-1),
    });
    await vi.advanceTimersByTimeAsync(599);
    expect(swept).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(swept[0].map((s) => s.service)).toEqual(['b', 'c']); // a: the router now inserted it; b: its router exited; c: unknown
    await after.stop();
  });

  test('a saved router that no longer runs starts no sweep (the next router start sweeps)', async () => {
    vi.useFakeTimers();
    const { rules } = setup([]);
    const swept: unknown[] = [];
    const saved: GenerationsSnapshot = { router: { ...newRouter, since: 0 }, insertedBy: [] };
    new RouterGenerations({ graceMs: 1000, rules, runs: () => false, sweep: async () => void swept.push(1), now: () => 0, saved });
    await vi.advanceTimersByTimeAsync(5000);
    expect(swept).toEqual([]);
  });

  test('the file: written whole and read back; a damaged or foreign file is ignored with a warning, a missing one silently', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ziti-gen-'));
    try {
      const file = generationsFile(join(dir, 'rules.json'));
      const warnings: string[] = [];
      const warn = (why: string) => void warnings.push(why);
      expect(await readGenerations(file, warn)).toBeUndefined();
      const snapshot: GenerationsSnapshot = { router: { ...newRouter, since: 5 }, candidate: { ...shell, since: 9 }, insertedBy: [['10.0.0.1/32 ...\na', 100, 1]] };
      await writeGenerations(file, snapshot);
      expect(await readGenerations(file, warn)).toEqual(snapshot);
      expect(warnings).toEqual([]);
      await writeFile(file, '{"version":1,"insertedBy":[["x",0,1]]}');
      expect(await readGenerations(file, warn)).toBeUndefined();
      await writeFile(file, 'not json');
      expect(await readGenerations(file, warn)).toBeUndefined();
      expect(warnings).toHaveLength(2);
      expect(warnings[0]).toContain('does not hold router generations');
      expect(warnings[1]).toContain('is not JSON');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
