/** IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, RFC 4291 section 2.5.5.2): IPv4 as dual-stack sockets and maps hold it. */
import type { IpAddress } from './ip-address.js';
import { formatIpv4 } from './ipv4.js';
import { formatIpv6, isMappedIpv4 } from './ipv6.js';

/** An IPv4 address as its IPv4-mapped IPv6 address; an IPv6 address unchanged. */
export function toMappedIpv6(address: IpAddress): IpAddress {
  if (address.family === 6) return address;
  const bytes = new Uint8Array(16);
  bytes[10] = 0xff;
  bytes[11] = 0xff;
  bytes.set(address.bytes, 12);
  return { family: 6, bytes, text: formatIpv6(bytes) };
}

/** An IPv4-mapped IPv6 address as the IPv4 address it stands for; any other address unchanged. */
export function unmapIpv4(address: IpAddress): IpAddress {
  if (address.family === 4 || !isMappedIpv4(address.bytes)) return address;
  const bytes = address.bytes.slice(12, 16);
  return { family: 4, bytes, text: formatIpv4(bytes) };
}
