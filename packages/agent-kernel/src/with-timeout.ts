import { TimeoutError } from './errors.js';

/**
 * Runs `step` and rejects with a TimeoutError naming `what` when it takes longer than `ms`.
 * The step starts at once, in the caller's turn (a plugin's apply reads the desired lists as they
 * are when it is called); a synchronous throw becomes a rejection. The step itself cannot be
 * cancelled; it keeps running. One promise and one timer per call (no race of two promises): it
 * wraps every plugin call, one per change.
 */
export function withTimeout<T>(what: string, ms: number, step: () => Promise<T> | T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
    let started: Promise<T> | T;
    try {
      started = step();
    } catch (err) {
      clearTimeout(timer);
      reject(err);
      return;
    }
    Promise.resolve(started).then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
