import type { ServerResponse } from 'node:http';

/** Events queued for one slow reader before further events are dropped (and counted). */
export const MAX_PENDING_BYTES = 1 << 20;

/**
 * Writes to a stream that may never end (the event stream, a forwarded -M): while the client is
 * more than MAX_PENDING_BYTES behind, what comes is dropped and counted, and `lost(n)` is written
 * before the next write that goes through, so a slow reader never grows the agent's memory.
 */
export function slowReaderWriter(res: ServerResponse, lost: (dropped: number) => string | Buffer): (chunk: string | Buffer) => void {
  let dropped = 0;
  return (chunk) => {
    if (res.writableLength > MAX_PENDING_BYTES) {
      dropped++;
      return;
    }
    if (dropped > 0) {
      res.write(lost(dropped));
      dropped = 0;
    }
    res.write(chunk);
  };
}

/** A datapath event as one NDJSON line (bigint counters as numbers); undefined when it cannot be. */
export function eventLine(value: unknown): string | undefined {
  try {
    return `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))}\n`;
  } catch {
    return undefined;
  }
}
