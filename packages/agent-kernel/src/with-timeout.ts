import { TimeoutError } from './errors.js';

/**
 * Runs `step` and rejects with a TimeoutError naming `what` when it takes longer than `ms`.
 * A synchronous throw becomes a rejection. The step itself cannot be cancelled; it keeps running.
 */
export async function withTimeout<T>(what: string, ms: number, step: () => Promise<T> | T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
  });
  try {
    return await Promise.race([Promise.resolve().then(step), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
