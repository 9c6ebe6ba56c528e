// The parent side of bench/stall-poller.mjs: forks the poller, keeps its reports, waits for
// conditions on them and computes the longest time without an answer over a window.
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { onCleanup } from './cleanup.mjs';

const poller = fileURLToPath(new URL('./stall-poller.mjs', import.meta.url));

/** The clock the poller stamps its reports with (epoch ms). */
export const pollClock = () => performance.timeOrigin + performance.now();

/**
 * Starts polling `targets` ([{ name, socket, path }]) every `intervalMs` from a separate process.
 * Returns { reports, answers(name), until(predicate, timeoutMs, what), stop() }.
 */
export async function pollStalls(targets, { intervalMs = 20, maxSeconds = 600 } = {}) {
  const child = fork(poller, [JSON.stringify({ targets, intervalMs, maxSeconds })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const kill = onCleanup(() => child.kill('SIGKILL'));
  const reports = [];
  const waiters = new Set();
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.on('message', (m) => {
    if (m.ready) return;
    reports.push(m);
    for (const w of waiters) if (w.test(m)) w.resolve(m);
  });
  await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`the stall poller exited ${code} before it started`)));
  });
  return {
    reports,
    /** times (epoch ms) of the answers from `name` */
    answers: (name) => reports.filter((r) => r.target === name && r.status !== undefined).map((r) => r.t),
    /** resolves the first report from now on for which `test(report)` holds; rejects after `timeoutMs` */
    until(test, timeoutMs, what) {
      return new Promise((resolve, reject) => {
        const w = {
          test,
          resolve: (m) => {
            clearTimeout(timer);
            waiters.delete(w);
            resolve(m);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`the stall poller saw no ${what} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(w);
      });
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
      kill();
    },
  };
}

/**
 * The longest time (ms) between consecutive answers over the window [from, to]: from the last answer
 * at or before `from` (or `from`) to the first at or after `to` (or `to`).
 */
export function longestGap(times, from, to) {
  const before = times.filter((t) => t <= from);
  const after = times.filter((t) => t >= to);
  const points = [before.length ? before[before.length - 1] : from, ...times.filter((t) => t > from && t < to), after.length ? after[0] : to];
  let gap = 0;
  for (let i = 1; i < points.length; i++) gap = Math.max(gap, points[i] - points[i - 1]);
  return gap;
}
