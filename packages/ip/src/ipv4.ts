/**
 * IPv4 dotted-quad text: decimal octets 0-255 without leading zeros (inet_aton would read "010" as
 * octal, so such text is refused rather than guessed at). Internal to the package.
 */

/**
 * The address `text` holds between `start` and `end` as an unsigned 32-bit number, or -1 when it
 * is not one. One pass, no allocation: the hot path of every IPv4 parse.
 */
export function ipv4Value(text: string, start = 0, end = text.length): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let parts = 0;
  for (let i = start; i <= end; i++) {
    const c = i < end ? text.charCodeAt(i) : 0x2e; // a virtual '.' closes the last octet
    if (c === 0x2e) {
      if (digits === 0 || parts === 4) return -1;
      value = value * 256 + octet;
      parts++;
      octet = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits === 1 && octet === 0) return -1; // a leading zero
      octet = octet * 10 + (c - 0x30);
      if (++digits > 3 || octet > 255) return -1;
    } else {
      return -1;
    }
  }
  return parts === 4 ? value : -1;
}

/** Why `text` is not a dotted quad (only called once ipv4Value has said it is not). */
export function ipv4Problem(text: string): string {
  const parts = text.split('.');
  if (parts.length !== 4) return 'an IPv4 address has 4 dot-separated numbers';
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return `"${part}" is not a decimal number 0-255`;
    if (part.length > 1 && part[0] === '0') return `"${part}" has a leading zero (ambiguous octal)`;
    if (Number(part) > 255) return `${part} is larger than 255`;
  }
  return 'not an IPv4 address';
}

/** Writes an IPv4 number as 4 network-order bytes at `offset`. */
export function writeIpv4(value: number, target: Uint8Array, offset: number): void {
  target[offset] = value >>> 24;
  target[offset + 1] = (value >>> 16) & 255;
  target[offset + 2] = (value >>> 8) & 255;
  target[offset + 3] = value & 255;
}

/** Dotted-quad text of the 4 network-order bytes at `offset`. */
export function formatIpv4(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/** Dotted-quad text of an IPv4 number. */
export function formatIpv4Value(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}
