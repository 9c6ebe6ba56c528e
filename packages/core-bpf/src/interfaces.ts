/**
 * Interface lookups in the current or another network namespace, straight from libc (sysfs shows the
 * namespace that mounted it, not the caller's, so /sys/class/net is not used).
 */
import { C, libcRaw } from './ffi/libc.js';
import { cOffsets, ffiStruct } from './ffi/ffi-structs.js';
import { koffi, lastErrno } from './ffi/lib.js';
import { formatIpv4, formatIpv6 } from '@bpfsteer/ip';
import { InvalidArgumentError, NotFoundError, SyscallError } from './errors.js';
import { inNetns } from './netns.js';

export interface InterfaceAddress {
  family: 4 | 6;
  address: string;
  prefixLength: number;
}

/** Linux interface names: 1-15 bytes, no '/', ':' or whitespace, not "." or "..". */
export function validateIfname(ifname: unknown): string {
  if (
    typeof ifname !== 'string' ||
    ifname.length === 0 ||
    Buffer.byteLength(ifname) >= C.IF_NAMESIZE ||
    /[\s/:]/.test(ifname) ||
    ifname === '.' ||
    ifname === '..'
  ) {
    throw new InvalidArgumentError(
      `invalid interface name ${JSON.stringify(ifname)}: expected 1-15 bytes without '/', ':' or whitespace`,
    );
  }
  return ifname;
}

function where(netns: string | undefined): string {
  return netns === undefined ? '' : ` in netns ${netns}`;
}

/** Names of all interfaces of the current namespace. */
export function interfaceNames(): string[] {
  const head = libcRaw.if_nameindex();
  if (head === null || head === 0n) throw new SyscallError('if_nameindex', lastErrno());
  const type = ffiStruct('if_nameindex');
  const size = koffi.sizeof(type);
  const names: string[] = [];
  try {
    for (let i = 0; ; i++) {
      const entry = koffi.decode(head + BigInt(i * size), type) as { if_index: number; if_name: string | null };
      if (entry.if_index === 0) break;
      names.push(entry.if_name ?? '');
    }
  } finally {
    libcRaw.if_freenameindex(head);
  }
  return names;
}

/** Index of `ifname` in the current namespace, or in `netns` when given. */
export function ifIndex(ifname: string, netns?: string): number {
  validateIfname(ifname);
  return inNetns(netns, () => {
    const index = libcRaw.if_nametoindex(ifname);
    if (index > 0) return index;
    throw new NotFoundError(`interface ${ifname}${where(netns)} (interfaces there: ${interfaceNames().join(', ')})`);
  });
}

/** Name of interface `index` in the current namespace, or in `netns`; undefined when there is none. */
export function ifName(index: number, netns?: string): string | undefined {
  if (!Number.isInteger(index) || index <= 0) throw new InvalidArgumentError(`invalid ifindex ${index}: expected a positive integer`);
  return inNetns(netns, () => {
    const buf = Buffer.alloc(C.IF_NAMESIZE);
    const ret = libcRaw.if_indextoname(index, buf);
    if (ret === null || ret === 0n) return undefined;
    return buf.toString('utf8', 0, buf.indexOf(0));
  });
}

/** Number of leading one bits of a netmask. */
export function prefixLengthOf(mask: Uint8Array): number {
  let bits = 0;
  for (const byte of mask) {
    if (byte === 0xff) {
      bits += 8;
      continue;
    }
    let b = byte;
    while (b & 0x80) {
      bits++;
      b = (b << 1) & 0xff;
    }
    break;
  }
  return bits;
}

interface IfaddrsEntry {
  ifa_next: bigint | null;
  ifa_name: string | null;
  ifa_addr: bigint | null;
  ifa_netmask: bigint | null;
}

/** The IPv4 and IPv6 addresses of `ifname` (in `netns` when given), also when the link is down. */
export function interfaceAddresses(ifname: string, netns?: string): InterfaceAddress[] {
  validateIfname(ifname);
  return inNetns(netns, () => {
    if (libcRaw.if_nametoindex(ifname) === 0) {
      throw new NotFoundError(`interface ${ifname}${where(netns)} (interfaces there: ${interfaceNames().join(', ')})`);
    }
    const out: [bigint | null] = [null];
    if (libcRaw.getifaddrs(out) < 0) throw new SyscallError('getifaddrs', lastErrno(), `addresses of ${ifname}`);
    const head = out[0];
    const type = ffiStruct('ifaddrs');
    const result: InterfaceAddress[] = [];
    try {
      for (let p = head; p !== null && p !== 0n; ) {
        const e = koffi.decode(p, type) as IfaddrsEntry;
        if (e.ifa_name === ifname && e.ifa_addr !== null) {
          const family = koffi.decode(e.ifa_addr, 'uint16_t') as number;
          const [len, offset] =
            family === C.AF_INET ? [4, cOffsets.sockaddrIn4Addr] : family === C.AF_INET6 ? [16, cOffsets.sockaddrIn6Addr] : [0, 0];
          if (len > 0) {
            const addr = new Uint8Array(koffi.view(e.ifa_addr + BigInt(offset), len).slice(0));
            const mask = e.ifa_netmask === null ? new Uint8Array(len).fill(0xff) : new Uint8Array(koffi.view(e.ifa_netmask + BigInt(offset), len).slice(0));
            result.push({
              family: len === 4 ? 4 : 6,
              address: len === 4 ? formatIpv4(addr) : formatIpv6(addr),
              prefixLength: prefixLengthOf(mask),
            });
          }
        }
        p = e.ifa_next;
      }
    } finally {
      if (head !== null) libcRaw.freeifaddrs(head);
    }
    return result;
  });
}
