/**
 * The current time as ISO text (`2026-01-02T03:04:05.678Z`), made once per millisecond: every
 * apply (one per change) notes when it finished, and formatting a Date costs more than the rest of
 * that bookkeeping (~4 µs).
 */
let lastMs = -1;
let lastText = '';

export function isoNow(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastText = new Date(ms).toISOString();
  }
  return lastText;
}
