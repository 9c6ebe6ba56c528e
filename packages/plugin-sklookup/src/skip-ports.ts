/**
 * The ports the divert never touches, as the program reads them: skl_skip_ports is an array of
 * 1024 64-bit words, bit (port % 64) of word (port / 64) set for a skipped port.
 */
import { InvalidArgumentError } from '@bpfsteer/core-bpf';

/** ztunnel's own listeners: 15001 outbound, 15006 plaintext inbound, 15008 HBONE. */
export const DEFAULT_SKIP_PORTS: readonly number[] = [15001, 15006, 15008];

export const SKIP_WORDS = 1024;

/** The non-zero words of the bitmap for `ports`, by word index. */
export function skipPortWords(ports: Iterable<number>): Map<number, bigint> {
  const words = new Map<number, bigint>();
  for (const port of ports) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new InvalidArgumentError(`skip port ${String(port)}: expected an integer 1..65535`);
    }
    const w = port >> 6;
    words.set(w, (words.get(w) ?? 0n) | (1n << BigInt(port & 63)));
  }
  return words;
}

/** Whether the program would skip `port` given the bitmap words (the program's test, for tables). */
export function isSkipped(words: ReadonlyMap<number, bigint>, port: number): boolean {
  return (((words.get(port >> 6) ?? 0n) >> BigInt(port & 63)) & 1n) === 1n;
}
