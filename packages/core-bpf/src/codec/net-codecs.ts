/**
 * Network values as strings: IPv4/IPv6 addresses (network order), MAC addresses, and the LPM-trie
 * keys for CIDR prefixes (`{ __u32 prefixlen; address }`, prefix length in host order).
 */
import { type Codec, rejectValue } from './codec.js';
import { u32 } from './int-codecs.js';
import { formatIpv4, formatIpv6, parseIpBytes, parseIpv4Into, tryParsePrefix } from '@bpfsteer/ip';
import { formatMac, parseMac } from './mac-address.js';

function addressCodec(
  size: number,
  align: number,
  name: string,
  expected: string,
  parse: (text: string) => Uint8Array | undefined,
  format: (bytes: Uint8Array, offset: number) => string,
): Codec<string> {
  return {
    size,
    align,
    layout: { kind: 'bytes', size },
    description: name,
    encode(value, target, offset, path) {
      const bytes = typeof value === 'string' ? parse(value) : undefined;
      if (!bytes) throw rejectValue(path, expected, value);
      target.set(bytes, offset);
    },
    decode(source, offset) {
      return format(source, offset);
    },
  };
}

/** The bytes of an address text of `size` bytes (4: IPv4, 16: IPv6), or undefined. */
const addressOfSize = (size: number) => (text: string) => {
  const bytes = parseIpBytes(text);
  return bytes?.length === size ? bytes : undefined;
};

/** An IPv4 address ("10.0.0.1") stored as a `__be32` (parsed straight into the target: bulk path). */
export const ipv4: Codec<string> = {
  ...addressCodec(4, 4, 'ipv4', 'an IPv4 address like "10.0.0.1"', addressOfSize(4), formatIpv4),
  encode(value, target, offset, path) {
    if (typeof value !== 'string' || !parseIpv4Into(value, target, offset)) {
      throw rejectValue(path, 'an IPv4 address like "10.0.0.1"', value);
    }
  },
};
/** An IPv6 address ("fd00::1") stored as 16 bytes in network order (`struct in6_addr`, `__be32[4]`). */
export const ipv6 = addressCodec(16, 4, 'ipv6', 'an IPv6 address like "fd00::1"', addressOfSize(16), formatIpv6);
/** A MAC address ("02:00:00:00:00:01") stored as 6 bytes. */
export const mac = addressCodec(6, 1, 'mac', 'a MAC address like "02:00:00:00:00:01"', parseMac, formatMac);

function cidrCodec(
  addressSize: number,
  name: string,
  example: string,
  format: (bytes: Uint8Array, offset: number) => string,
): Codec<string> {
  const maxPrefix = addressSize * 8;
  const expected = `a ${name.replace('Cidr', '')} prefix like "${example}" (length 0..${maxPrefix}, no host bits set)`;
  return {
    size: 4 + addressSize,
    align: 4,
    layout: { kind: 'bytes', size: 4 + addressSize },
    description: name,
    encode(value, target, offset, path) {
      // "address/length" only (a bare address is not a key), host bits refused: @bpfsteer/ip's rule
      const prefix = typeof value === 'string' && value.includes('/') ? tryParsePrefix(value) : undefined;
      if (!prefix?.ok || prefix.value.bytes.length !== addressSize) throw rejectValue(path, expected, value);
      u32.encode(prefix.value.length, target, offset, path);
      target.set(prefix.value.bytes, offset + 4);
    },
    decode(source, offset) {
      return `${format(source, offset + 4)}/${u32.decode(source, offset)}`;
    },
  };
}

/** LPM-trie key for an IPv4 prefix ("10.0.0.0/8"): `{ __u32 prefixlen; __be32 addr; }`, 8 bytes. */
export const ipv4Cidr = cidrCodec(4, 'ipv4Cidr', '10.0.0.0/8', formatIpv4);
/** LPM-trie key for an IPv6 prefix ("fd00::/8"): `{ __u32 prefixlen; __u8 addr[16]; }`, 20 bytes. */
export const ipv6Cidr = cidrCodec(16, 'ipv6Cidr', 'fd00::/8', formatIpv6);
