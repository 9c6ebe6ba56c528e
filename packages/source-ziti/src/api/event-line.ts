/** Events queued for one slow reader before further events are dropped (and counted). */
export const MAX_PENDING_BYTES = 1 << 20;

/** A datapath event as one NDJSON line (bigint counters as numbers); undefined when it cannot be. */
export function eventLine(value: unknown): string | undefined {
  try {
    return `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))}\n`;
  } catch {
    return undefined;
  }
}
