/**
 * Lets V8's memory reducer run on Node 24 after a large piece of work (a 100,000-rule batch, a
 * listing): it then returns the garbage and the pooled pages of the agent's thread with an
 * incremental, memory-reducing collection (measured at 100,000 rules: RSS 370 -> 301 MiB ~10 s
 * after the batch, pauses of 26 and 46 ms) instead of holding them until its 100 s watchdog.
 *
 * Why: since V8 13.1 (Node 24) the reducer's "low allocation rate" test also requires a low
 * allocation rate on the cppgc (embedder) heap, and a throughput of exactly zero - a process that
 * never allocates there, which a plain JavaScript program does not - counts as the highest rate
 * (V8 issue 570738027, nodejs/node issue 66564). Compiling a `vm.Script` allocates on that heap;
 * one every NUDGE_MS keeps its throughput small but not zero.
 */
import { Script } from 'node:vm';

/** How often a tiny `vm.Script` is compiled (ms). */
export const NUDGE_MS = 30_000;

/** Starts the nudge (one compilation now, then every `intervalMs`); returns its stop. */
export function startMemoryReducerNudge(intervalMs = NUDGE_MS, compile: () => void = () => void new Script('0')): () => void {
  compile();
  const timer = setInterval(compile, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
