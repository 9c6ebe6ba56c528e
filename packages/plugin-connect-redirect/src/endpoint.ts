/** "127.0.0.1:18000" and "[::1]:18000": a listener's address and port, of one family (@bpfsteer/ip's rules). */
import { type IpAddress, tryParseEndpoint } from '@bpfsteer/ip';

export interface Endpoint {
  readonly address: IpAddress;
  readonly port: number;
}

export function readEndpoint(text: unknown, family: 4 | 6): { ok: true; value: Endpoint } | { ok: false; error: string } {
  const r = tryParseEndpoint(text, { family });
  return r.ok ? { ok: true, value: { address: r.value.address, port: r.value.port } } : { ok: false, error: r.error.message };
}
