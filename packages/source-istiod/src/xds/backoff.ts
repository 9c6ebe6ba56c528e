/** Reconnect delays: exponential, capped, with jitter so many agents do not reconnect in step. */

export interface BackoffPolicy {
  /** delay before the first retry, ms */
  readonly initialMs: number;
  /** upper bound of any delay, ms */
  readonly maxMs: number;
}

/**
 * Delay before retry number `attempt` (0 = first retry): a uniformly random value in
 * [ceiling / 2, ceiling], where ceiling = min(maxMs, initialMs * 2^attempt).
 * `random` returns a number in [0, 1) (Math.random by default).
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), 30);
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** exponent);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
