/**
 * The fields of a `connect.redirect` intent as the plugin reads them: the destination prefix
 * (@bpfsteer/ip's rules; a bare address is a host prefix, host bits are refused) and port ranges
 * ("80", "8000-8100", or a number).
 */
import { tryParsePrefix, type IpPrefix, type IpResult } from '@bpfsteer/ip';

/** Inclusive, 1..65535. */
export interface PortRange {
  readonly from: number;
  readonly to: number;
}

/** A rule's destination prefix. */
export function readConnectDestination(text: unknown): IpResult<IpPrefix> {
  return tryParsePrefix(typeof text === 'string' ? text.trim() : text, { what: 'destination' });
}

const PORT = /^(0|[1-9][0-9]{0,4})$/;

/** "80", "8000-8100" or 80 as a range; a message saying what is wrong otherwise. */
export function readPortRange(value: unknown): { ok: true; value: PortRange } | { ok: false; error: string } {
  const bad = { ok: false as const, error: `port ${JSON.stringify(value)}: expected a port 1-65535 or a range like "8000-8100"` };
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : undefined;
  if (text === undefined) return bad;
  const [a, b = a, ...rest] = text.split('-');
  if (rest.length > 0 || !PORT.test(a!) || !PORT.test(b!)) return bad;
  const from = Number(a);
  const to = Number(b);
  if (from < 1 || to > 65535) return bad;
  if (from > to) return { ok: false, error: `port range ${JSON.stringify(value)}: the first port is above the last` };
  return { ok: true, value: { from, to } };
}
