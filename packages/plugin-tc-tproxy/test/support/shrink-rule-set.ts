/**
 * Test support: shrinks a failing rule set to a small one that still fails (delta debugging: drop
 * chunks of ever smaller size while the failure stays), within a budget of attempts, since each
 * attempt is a real apply and a real program run.
 */

export interface ShrinkResult<T> {
  readonly items: readonly T[];
  readonly attempts: number;
  /** the budget ran out before no single item could be dropped any more */
  readonly exhausted: boolean;
}

/**
 * The smallest subset of `items` found on which `fails` still holds (`fails(items)` is taken as
 * true). Order is kept.
 */
export function shrinkRuleSet<T>(items: readonly T[], fails: (subset: readonly T[]) => boolean, maxAttempts = 200): ShrinkResult<T> {
  let current = [...items];
  let attempts = 0;
  let chunks = 2;
  while (current.length > 1) {
    const size = Math.ceil(current.length / chunks);
    let dropped = false;
    for (let start = 0; start < current.length; start += size) {
      if (attempts >= maxAttempts) return { items: current, attempts, exhausted: true };
      const rest = [...current.slice(0, start), ...current.slice(start + size)];
      attempts++;
      if (rest.length > 0 && fails(rest)) {
        current = rest;
        chunks = Math.max(chunks - 1, 2);
        dropped = true;
        break;
      }
    }
    if (!dropped) {
      if (size === 1) break; // no single item can go
      chunks = Math.min(chunks * 2, current.length);
    }
  }
  return { items: current, attempts, exhausted: false };
}
