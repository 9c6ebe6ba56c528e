/**
 * IP addresses: strict text parsing, network-order bytes (4 for IPv4, 16 for IPv6) both ways and
 * one canonical text (dotted quad; RFC 5952 for IPv6, IPv4-mapped addresses as ::ffff:a.b.c.d).
 * Text is never trimmed, and a text longer than 64 characters is refused unread.
 */
import { IpError, type IpResult } from './ip-error.js';
import { formatIpv4, ipv4Problem, ipv4Value, writeIpv4 } from './ipv4.js';
import { formatIpv6, readIpv6 } from './ipv6.js';

export type IpFamily = 4 | 6;

export interface IpAddress {
  readonly family: IpFamily;
  /** network order: 4 bytes for IPv4, 16 for IPv6 */
  readonly bytes: Uint8Array;
  /** canonical text */
  readonly text: string;
}

export interface ParseIpOptions {
  /** what the text is, for messages: `source "x" is not an IP address: ...` (default: nothing) */
  readonly what?: string;
}

/** Longer texts are refused unread (the longest address/length, "ffff:...:255.255.255.255/128", has 49). */
export const MAX_TEXT = 64;

const ACCEPTED_ADDRESS = 'an IPv4 address like 192.0.2.1 or an IPv6 address like 2001:db8::1';

/** A text as messages quote it: JSON, cut after MAX_TEXT characters; other values as JSON. */
export function quote(text: unknown): string {
  if (typeof text === 'string' && text.length > MAX_TEXT) return JSON.stringify(`${text.slice(0, MAX_TEXT)}...`);
  return JSON.stringify(text) ?? String(text);
}

/** "source " or "" */
export function label(what: string | undefined): string {
  return what ? `${what} ` : '';
}

/** The family and bytes of an address text, or why it is not one (text length already checked). */
export function readAddress(text: string): { family: IpFamily; bytes: Uint8Array } | string {
  if (text === '') return 'empty';
  if (text.includes(':')) {
    const bytes = readIpv6(text);
    return typeof bytes === 'string' ? bytes : { family: 6, bytes };
  }
  const value = ipv4Value(text);
  if (value < 0) return ipv4Problem(text);
  const bytes = new Uint8Array(4);
  writeIpv4(value, bytes, 0);
  return { family: 4, bytes };
}

/**
 * Parses an IPv4 address (dotted quad, decimal octets without leading zeros) or an IPv6 address
 * (RFC 4291 text: "::" once, an optional dotted IPv4 tail, no zone index). Never throws.
 */
export function tryParseIp(text: unknown, options: ParseIpOptions = {}): IpResult<IpAddress> {
  let problem: string;
  if (typeof text !== 'string') problem = 'not a string';
  else if (text.length > MAX_TEXT) problem = `longer than ${MAX_TEXT} characters`;
  else {
    const read = readAddress(text);
    if (typeof read !== 'string') {
      // an accepted dotted quad is already canonical
      return { ok: true, value: { ...read, text: read.family === 4 ? text : formatIpv6(read.bytes) } };
    }
    problem = read;
  }
  const message = `${label(options.what)}${quote(text)} is not an IP address: ${problem}; expected ${ACCEPTED_ADDRESS}`;
  return { ok: false, error: new IpError('ERR_IP_INVALID_ADDRESS', message) };
}

/** As tryParseIp, but a bad address throws IpError (code ERR_IP_INVALID_ADDRESS). */
export function parseIp(text: unknown, options: ParseIpOptions = {}): IpAddress {
  const parsed = tryParseIp(text, options);
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
}

/**
 * The network-order bytes (4 or 16) of an address text, or undefined (tryParseIp says why): the
 * form for codecs, which need the bytes but not the canonical text.
 */
export function parseIpBytes(text: string): Uint8Array | undefined {
  if (typeof text !== 'string' || text.length > MAX_TEXT) return undefined;
  const read = readAddress(text);
  return typeof read === 'string' ? undefined : read.bytes;
}

/**
 * Writes the 4 network-order bytes of an IPv4 text at `offset` and returns true, or returns false
 * (target untouched) when `text` is not one. No allocation: the bulk path of map codecs.
 */
export function parseIpv4Into(text: string, target: Uint8Array, offset: number): boolean {
  const value = typeof text === 'string' && text.length <= MAX_TEXT ? ipv4Value(text) : -1;
  if (value < 0) return false;
  writeIpv4(value, target, offset);
  return true;
}

/** The family of 4 or 16 network-order bytes; undefined for any other length. */
export function familyOfBytes(bytes: Uint8Array): IpFamily | undefined {
  return bytes.length === 4 ? 4 : bytes.length === 16 ? 6 : undefined;
}

function checkedFamily(bytes: Uint8Array): IpFamily {
  const family = familyOfBytes(bytes);
  if (family === undefined) {
    throw new IpError('ERR_IP_INVALID_ARGUMENT', `an IP address has 4 or 16 network-order bytes, got ${bytes.length}`);
  }
  return family;
}

/** Canonical text of 4 or 16 network-order bytes; any other length throws IpError. */
export function formatIp(bytes: Uint8Array): string {
  return checkedFamily(bytes) === 4 ? formatIpv4(bytes) : formatIpv6(bytes);
}

/** The address of 4 or 16 network-order bytes (copied); any other length throws IpError. */
export function ipFromBytes(bytes: Uint8Array): IpAddress {
  const family = checkedFamily(bytes);
  const copy = Uint8Array.from(bytes);
  return { family, bytes: copy, text: family === 4 ? formatIpv4(copy) : formatIpv6(copy) };
}

/** 32 for IPv4, 128 for IPv6. */
export function maxPrefixLength(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}
