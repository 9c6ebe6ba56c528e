/**
 * tctp_if_addrs: the addresses of the attached interfaces (SSH to them passes with TCTP_IF_SSH),
 * kept in step with what the interfaces have. Pure helpers plus the diff that converges the map.
 */
import type { InterfaceAddress, TypedMap } from '@bpfsteer/core-bpf';
import { tryParseIp } from '@bpfsteer/ip';
import type { IfAddrKey } from './map-codecs.js';
import { AF_INET, AF_INET6 } from './tproxy-constants.js';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function ifAddrKeyId(k: IfAddrKey): string {
  let s = `${k.ifindex}|${k.family}|`;
  for (let i = 0; i < 16; i++) s += HEX[k.addr[i]];
  return s;
}

/** The tctp_if_addrs keys of one interface's addresses. */
export function addressKeys(ifindex: number, addresses: readonly InterfaceAddress[]): IfAddrKey[] {
  const out: IfAddrKey[] = [];
  for (const a of addresses) {
    const result = tryParseIp(a.address);
    if (!result.ok) continue;
    const parsed = result.value;
    const addr = new Uint8Array(16);
    addr.set(parsed.bytes, 0);
    out.push({ ifindex, family: parsed.family === 4 ? AF_INET : AF_INET6, addr });
  }
  return out;
}

export interface AddressSync {
  readonly added: number;
  readonly removed: number;
}

/**
 * Makes `map` hold exactly `desired` (new entries first, then removals); `actual` tracks what the map
 * holds and is updated. At most `limit` entries are kept (the rest is reported as skipped).
 */
export function syncAddresses(
  map: TypedMap<IfAddrKey, number>,
  actual: Map<string, IfAddrKey>,
  desired: readonly IfAddrKey[],
  limit: number,
): AddressSync & { readonly skipped: number } {
  const want = new Map<string, IfAddrKey>();
  for (const k of desired) if (want.size < limit) want.set(ifAddrKeyId(k), k);
  const add = [...want].filter(([id]) => !actual.has(id));
  const remove = [...actual].filter(([id]) => !want.has(id));
  // removals first when the map would otherwise overflow
  const overflow = actual.size + add.length > limit;
  if (overflow) map.deleteMany(remove.map(([, k]) => k));
  map.setMany(add.map(([, k]) => [k, 1] as const));
  if (!overflow) map.deleteMany(remove.map(([, k]) => k));
  for (const [id, k] of add) actual.set(id, k);
  for (const [id] of remove) actual.delete(id);
  return { added: add.length, removed: remove.length, skipped: Math.max(0, new Set(desired.map(ifAddrKeyId)).size - want.size) };
}
