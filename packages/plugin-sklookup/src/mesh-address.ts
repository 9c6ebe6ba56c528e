/**
 * Addresses as the sk_lookup maps key them: 16 bytes, IPv4 stored IPv4-mapped (::ffff:a.b.c.d).
 * A "mesh key" is the canonical text of those 16 bytes ("::ffff:10.0.0.1", "fd00::1"), which is
 * also what the ipv6 codec decodes a map key to, so kernel and desired state compare as strings.
 */
import { InvalidArgumentError, formatIpAddress, tryParseIpAddress } from '@bpfsteer/core-bpf';

/** The mesh key of an IPv4 or IPv6 address text; throws InvalidArgumentError naming `what`. */
export function meshKey(address: string, what = 'address'): string {
  const parsed = tryParseIpAddress(address);
  if ('reason' in parsed) {
    throw new InvalidArgumentError(
      `${what} ${JSON.stringify(address)} is not an IP address (${parsed.reason}); expected an IPv4 address like 10.0.0.1 or an IPv6 address like fd00::1`,
    );
  }
  if (parsed.family === 6) return formatIpAddress(parsed.bytes);
  const mapped = new Uint8Array(16);
  mapped[10] = 0xff;
  mapped[11] = 0xff;
  mapped.set(parsed.bytes, 12);
  return formatIpAddress(mapped);
}

/** The address a mesh key stands for, as people write it ("10.0.0.1" for an IPv4-mapped key). */
export function displayAddress(key: string): string {
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/.test(key) ? key.slice(7) : key;
}
