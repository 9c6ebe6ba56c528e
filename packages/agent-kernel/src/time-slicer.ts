/**
 * Cooperative time slicing for long loops on a thread that must keep answering (the agent's main
 * thread: admin socket, source APIs, xDS stream). A loop asks `pause()` every few items; once the
 * slice's budget is spent it yields to the event loop (`setImmediate`, so pending I/O runs first)
 * and starts a new slice. No work is ever done twice; the loop just resumes.
 *
 * ```ts
 * const slicer = new TimeSlicer();
 * for (const [i, item] of items.entries()) {
 *   if ((i & 255) === 0) await slicer.pause();
 *   handle(item);
 * }
 * ```
 */
export const DEFAULT_SLICE_MS = 8;

export class TimeSlicer {
  readonly #budgetMs: number;
  #until: number;
  #yields = 0;

  constructor(budgetMs = DEFAULT_SLICE_MS) {
    this.#budgetMs = budgetMs;
    this.#until = performance.now() + budgetMs;
  }

  /** The slice's budget is spent. */
  due(): boolean {
    return performance.now() >= this.#until;
  }

  /** How many times this slicer yielded. */
  get yields(): number {
    return this.#yields;
  }

  /** Yields to the event loop and starts a new slice. */
  async yield(): Promise<void> {
    this.#yields++;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.#until = performance.now() + this.#budgetMs;
  }

  /** Yields only when the slice's budget is spent. */
  async pause(): Promise<void> {
    if (this.due()) await this.yield();
  }
}

/**
 * Work written once as a generator, run either at once or in slices: each `yield` marks a place
 * where a sliced run may pause (`runStepsInSlices`); `runSteps` runs it to its end in one go.
 */
export type Steps<T> = Generator<void, T, void>;

/** Runs `steps` to its end at once. */
export function runSteps<T>(steps: Steps<T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** Runs `steps` to its end, yielding to the event loop at its yields once a slice's budget is spent. */
export async function runStepsInSlices<T>(steps: Steps<T>, slicer = new TimeSlicer()): Promise<T> {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await slicer.pause();
  }
}
