/**
 * IP addresses and CIDR blocks: strict parsing, normalisation (host bits cleared, bare IP = host
 * prefix) and canonical text (dotted quad; RFC 5952 for IPv6). Pure, no dependencies, so the
 * diverter CLI can use it without loading the server side.
 */

export type IpFamily = 4 | 6;

export interface IpAddress {
  readonly family: IpFamily;
  /** 4 or 16 bytes, network order */
  readonly bytes: Uint8Array;
}

export interface Cidr extends IpAddress {
  readonly prefix: number;
  /** canonical "address/prefix" with host bits cleared */
  readonly text: string;
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

const MAX_TEXT = 64;

export function maxPrefix(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}

function parseIpv4(text: string): Uint8Array | undefined {
  // decimal only, no leading zeros (inet_aton would read "010" as octal); scanned by hand: this
  // runs for every rule of a batch
  const bytes = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || part > 3) return undefined;
      bytes[part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits === 1 && value === 0) return undefined; // a leading zero
      value = value * 10 + (c - 0x30);
      if (++digits > 3 || value > 255) return undefined;
    } else {
      return undefined;
    }
  }
  return part === 4 ? bytes : undefined;
}

function parseIpv6(text: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  let tail: Uint8Array | undefined;
  let body = text;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    tail = parseIpv4(text.slice(lastColon + 1));
    if (!tail) return undefined;
    body = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (s: string): string[] | undefined => {
    if (s === '') return [];
    const groups = s.split(':');
    return groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g)) ? groups : undefined;
  };
  const head = groupsOf(halves[0]);
  const rest = halves.length === 2 ? groupsOf(halves[1]) : [];
  if (!head || !rest) return undefined;
  const count = head.length + rest.length;
  if (halves.length === 1 ? count !== 8 : count > 7) return undefined;
  const groups = [...head, ...Array<string>(8 - count).fill('0'), ...rest];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    const n = parseInt(g, 16);
    bytes[i * 2] = n >> 8;
    bytes[i * 2 + 1] = n & 0xff;
  });
  if (tail) bytes.set(tail, 12);
  return bytes;
}

/** Parses a bare IPv4 or IPv6 address (no zone id, no prefix). */
export function parseIp(text: string): IpAddress | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_TEXT) return undefined;
  if (text.includes(':')) {
    const bytes = parseIpv6(text);
    return bytes && { family: 6, bytes };
  }
  const bytes = parseIpv4(text);
  return bytes && { family: 4, bytes };
}

/** Canonical text of an address: dotted quad, or RFC 5952 (lower case, longest zero run as "::"). */
export function formatIp(address: IpAddress): string {
  const { bytes } = address;
  if (address.family === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function clearHostBits(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(bytes);
  const bits = out.length * 8;
  if (prefix >= bits) return out;
  out[prefix >> 3] &= ~(0xff >> (prefix & 7));
  out.fill(0, (prefix >> 3) + 1);
  return out;
}

/** Parses a prefix length given as text: decimal digits only, 0..32 (IPv4) or 0..128 (IPv6). */
export function parsePrefixLength(text: string, family: IpFamily): Parsed<number> {
  const max = maxPrefix(family);
  if (!/^\d{1,3}$/.test(text) || Number(text) > max) {
    return { ok: false, message: `prefix length ${JSON.stringify(text)} is out of range; accepted: 0..${max} for IPv${family}` };
  }
  return { ok: true, value: Number(text) };
}

/** Builds a normalised CIDR from an address and a prefix length (host bits cleared). */
export function makeCidr(address: IpAddress, prefix: number): Cidr {
  const bytes = clearHostBits(address.bytes, prefix);
  const text = `${formatIp({ family: address.family, bytes })}/${prefix}`;
  return { family: address.family, bytes, prefix, text };
}

/**
 * Parses "address" or "address/len": a bare address gets the host prefix (/32 or /128) and host
 * bits are cleared ("10.1.2.3/24" -> "10.1.2.0/24").
 */
export function parseCidr(text: unknown): Parsed<Cidr> {
  if (typeof text !== 'string') return { ok: false, message: 'a CIDR must be a string like "10.0.0.0/24" or "fd00::/64"' };
  const shown = (): string => JSON.stringify(text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}...` : text);
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const address = parseIp(addressText);
  if (!address) {
    return {
      ok: false,
      message: `${shown()} is not a valid CIDR: ${JSON.stringify(addressText.slice(0, MAX_TEXT))} is not an IPv4 or IPv6 address; accepted: "a.b.c.d[/0..32]" or "x:x::x[/0..128]"`,
    };
  }
  if (slash < 0) return { ok: true, value: makeCidr(address, maxPrefix(address.family)) };
  const prefix = parsePrefixLength(text.slice(slash + 1), address.family);
  if (!prefix.ok) return { ok: false, message: `${shown()} is not a valid CIDR: ${prefix.message}` };
  return { ok: true, value: makeCidr(address, prefix.value) };
}

/** 0..max when `text` is 1..3 decimal digits of at most `max` (parsePrefixLength's rule); else -1. */
function prefixValue(text: string, from: number, max: number): number {
  const digits = text.length - from;
  if (digits < 1 || digits > 3) return -1;
  let value = 0;
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    value = value * 10 + (c - 0x30);
  }
  return value <= max ? value : -1;
}

/** An IPv4 address of `text` (up to `end`) as an unsigned 32-bit number; -1 when it is not one. */
function ipv4Value(text: string, end: number): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= end; i++) {
    const c = i < end ? text.charCodeAt(i) : 0x2e;
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

/**
 * The family and canonical text of a CIDR, as parseCidr gives them, without building the address
 * bytes: IPv4 is read straight into a number (this runs twice for every rule of a batch); anything
 * else goes through parseCidr.
 */
export function normaliseCidr(text: unknown): Parsed<{ readonly family: IpFamily; readonly text: string }> {
  if (typeof text === 'string' && text.length <= MAX_TEXT) {
    const slash = text.indexOf('/');
    const end = slash < 0 ? text.length : slash;
    const address = ipv4Value(text, end);
    const prefix = slash < 0 ? 32 : prefixValue(text, slash + 1, 32);
    if (address >= 0 && prefix >= 0) {
      const masked = prefix === 0 ? 0 : (address & (0xffffffff << (32 - prefix))) >>> 0;
      return {
        ok: true,
        value: { family: 4, text: `${masked >>> 24}.${(masked >>> 16) & 255}.${(masked >>> 8) & 255}.${masked & 255}/${prefix}` },
      };
    }
  }
  return parseCidr(text);
}

/** The "any address" CIDR of a family. */
export function anyCidr(family: IpFamily): string {
  return family === 4 ? '0.0.0.0/0' : '::/0';
}

/** Orders CIDRs: IPv4 first, then by address bytes, then by prefix length. */
export function compareCidr(a: Cidr, b: Cidr): number {
  if (a.family !== b.family) return a.family - b.family;
  for (let i = 0; i < a.bytes.length; i++) if (a.bytes[i] !== b.bytes[i]) return a.bytes[i] - b.bytes[i];
  return a.prefix - b.prefix;
}
