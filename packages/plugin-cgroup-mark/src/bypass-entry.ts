/**
 * mesh_bypass entries in readable form (diagnostics and tests): addresses without the IPv4-mapped
 * prefix the map stores them with, and the entry's age.
 */

/** "::ffff:10.0.0.1" -> "10.0.0.1"; other addresses unchanged. */
export function unmapAddress(address: string): string {
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) ? address.slice(7) : address;
}

/** "10.0.0.1:80", "[fd00::1]:80" */
export function formatEndpoint(address: string, port: number): string {
  const a = unmapAddress(address);
  return a.includes(':') ? `[${a}]:${port}` : `${a}:${port}`;
}

export interface BypassEntry {
  /** the connecting side (the SYN's source) */
  readonly remote: string;
  /** the SYN's destination */
  readonly local: string;
  /** milliseconds since the last marked SYN of this connection */
  readonly ageMs: number;
}

export interface RawBypassEntry {
  readonly key: { readonly remote_be: string; readonly local_be: string; readonly remote_port_be: number; readonly local_port_be: number };
  readonly value: { readonly seen_ns: bigint };
}

/** Readable form of an entry, `nowNs` being CLOCK_MONOTONIC now (what bpf_ktime_get_ns counts). */
export function describeBypassEntry(entry: RawBypassEntry, nowNs: bigint): BypassEntry {
  const age = nowNs > entry.value.seen_ns ? nowNs - entry.value.seen_ns : 0n;
  return {
    remote: formatEndpoint(entry.key.remote_be, entry.key.remote_port_be),
    local: formatEndpoint(entry.key.local_be, entry.key.local_port_be),
    ageMs: Number(age / 1_000_000n),
  };
}
