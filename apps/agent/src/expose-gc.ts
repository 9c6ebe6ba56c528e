/**
 * V8's `gc` for the plugins' worker threads: their IdleTrim gives back the memory of a large apply
 * or listing once the thread is idle (agent-kernel's plugin-worker.ts; V8 on Node 24 otherwise keeps
 * it resident for ~100 s). node's --expose-gc did it from the bin's shebang, but that flag changes
 * V8's flag hash (`v8.cachedDataVersionTag()`), so node's embedded code cache of its own built-in
 * modules no longer matched and every built-in a command loaded was compiled from source: ~10 ms more
 * for `bpfsteer --help` (commander loads node:child_process and node:util; bench/cli-start). Set here,
 * the flag installs `gc` in the contexts made after it, the new threads' (not this thread's: nothing
 * calls gc on it); only `run` sets it, once its modules are loaded.
 */
import { setFlagsFromString } from 'node:v8';

/** Exposes `gc` (globalThis.gc) to the worker threads started from now on. */
export function exposeGcToNewThreads(): void {
  setFlagsFromString('--expose-gc');
}
