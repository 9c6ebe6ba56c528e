/** "127.0.0.1:18000" and "[::1]:18000": a listener's address and port (@bpfsteer/ip's rules). */
import { tryParseIp, type IpAddress } from '@bpfsteer/ip';

export interface Endpoint {
  readonly address: IpAddress;
  readonly port: number;
}

export function readEndpoint(text: unknown, family: 4 | 6): { ok: true; value: Endpoint } | { ok: false; error: string } {
  const example = family === 4 ? '"127.0.0.1:18000"' : '"[::1]:18000"';
  const m = typeof text === 'string' ? (family === 4 ? /^([^:[\]]+):(\d{1,5})$/ : /^\[([^\]]+)\]:(\d{1,5})$/).exec(text) : null;
  const port = m ? Number(m[2]) : 0;
  const address = m ? tryParseIp(m[1], { what: 'target' }) : undefined;
  if (!m || !address?.ok || address.value.family !== family || port < 1 || port > 65535) {
    return { ok: false, error: `${JSON.stringify(text)}: expected an IPv${family} listener like ${example}` };
  }
  return { ok: true, value: { address: address.value, port } };
}
