/**
 * Work that may run early, while the thread would otherwise wait, and is taken when its result is
 * needed. The agent's main thread hands a large change to a plugin's thread and then waits for its
 * apply (~1.5 s for 100,000 rules) with nothing to do; what a source must do after the commit
 * anyway (the ziti source's journal record of the change) can be computed meanwhile instead of after.
 *
 * ```ts
 * const early = IdleWork.start(() => prepare(state));  // begins once the event loop is idle
 * const result = await commit(state);                   // the loop is busy, then waits for the plugin
 * const prepared = await early.take();                  // its result, or undefined if it never began
 * ```
 *
 * "Idle" is measured, not guessed: the loop's utilisation over the last window is below a bound
 * (performance.eventLoopUtilization). Sliced work of the same thread (TimeSlicer) keeps the loop
 * busy, so the early work does not slow the work it waits behind; a thread that never idles just
 * never begins it, and `take` says so.
 */
import { performance } from 'node:perf_hooks';

/** How often the loop is looked at (ms), and the utilisation below which it counts as idle. */
export const IDLE_WINDOW_MS = 5;
export const IDLE_MAX_UTILIZATION = 0.3;

export class IdleWork<T> {
  #begun: Promise<T> | undefined;
  #cancelled = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #work: () => Promise<T>;

  private constructor(work: () => Promise<T>) {
    this.#work = work;
  }

  /** Looks at the loop every IDLE_WINDOW_MS and begins `work` in the first window the loop was idle. */
  static start<T>(work: () => Promise<T>, options: { windowMs?: number; maxUtilization?: number } = {}): IdleWork<T> {
    const idle = new IdleWork(work);
    idle.#watch(options.windowMs ?? IDLE_WINDOW_MS, options.maxUtilization ?? IDLE_MAX_UTILIZATION);
    return idle;
  }

  #watch(windowMs: number, maxUtilization: number): void {
    let since = performance.eventLoopUtilization();
    const look = (): void => {
      this.#timer = undefined;
      if (this.#cancelled) return;
      const now = performance.eventLoopUtilization();
      if (performance.eventLoopUtilization(now, since).utilization <= maxUtilization) {
        this.#begin();
        return;
      }
      since = now;
      this.#timer = setTimeout(look, windowMs);
    };
    this.#timer = setTimeout(look, windowMs);
  }

  #begin(): void {
    const begun = this.#work();
    begun.catch(() => undefined); // taken by `take`, or dropped with `cancel`
    this.#begun = begun;
  }

  /** Whether the work has begun. */
  get begun(): boolean {
    return this.#begun !== undefined;
  }

  /** The work's result once it has begun (its error rethrown); undefined when it had not begun (it never will now). */
  async take(): Promise<T | undefined> {
    this.cancel();
    return this.#begun;
  }

  /** Never begins the work (a begun one runs to its end, unobserved). */
  cancel(): void {
    this.#cancelled = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
