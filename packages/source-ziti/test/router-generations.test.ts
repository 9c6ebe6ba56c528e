/** RouterGenerations with a fake clock of live processes: which wishes a router restart sweeps, and when. */
import { afterEach, expect, test, vi } from 'vitest';
import type { Rule, RuleSelector } from '../src/rule.js';
import { insertRule, emptyState, type ZitiState } from '../src/rule-store.js';
import { callerRuns, RouterGenerations, type Caller } from '../src/router-generations.js';

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

test('a -V from someone who inserts nothing (a person checking the version) sweeps nothing', async () => {
  vi.useFakeTimers();
  const { generations, swept } = setup([]);
  generations.inserted(rule(1), 'a', oldRouter);
  generations.started(shell);
  await vi.advanceTimersByTimeAsync(5000);
  expect(swept.flat()).toEqual([]);
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
