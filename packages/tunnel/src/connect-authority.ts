/**
 * The `:authority` of an HTTP/2 CONNECT request (RFC 9113 section 8.5): "host:port", an IPv6 host in
 * brackets. The tunnel only ever names an address (the original destination), never a name.
 */
import { formatEndpoint, tryParseEndpoint } from '@bpfsteer/ip';

export interface Destination {
  readonly address: string;
  readonly port: number;
}

export function formatAuthority(d: Destination): string {
  return formatEndpoint(d.address, d.port);
}

/** The destination an authority names; undefined unless it is an IP address and a port 1..65535. */
export function parseAuthority(authority: unknown): Destination | undefined {
  const r = tryParseEndpoint(authority);
  return r.ok ? { address: r.value.address.text, port: r.value.port } : undefined;
}
