import { TimeoutError } from './errors.js';

/**
 * Runs `step` and rejects with a TimeoutError naming `what` when it takes longer than `ms`.
 * The step starts at once, in the caller's turn (a plugin's apply reads the desired lists as they
 * are when it is called); a synchronous throw becomes a rejection. The step itself cannot be
 * cancelled; it keeps running.
 */
export async function withTimeout<T>(what: string, ms: number, step: () => Promise<T> | T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
  });
  let started: Promise<T>;
  try {
    started = Promise.resolve(step());
  } catch (err) {
    started = Promise.reject(err);
  }
  try {
    return await Promise.race([started, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
