/**
 * Addresses as the sk_lookup maps key them: 16 bytes, IPv4 stored IPv4-mapped (::ffff:a.b.c.d).
 * A "mesh key" is the canonical text of those 16 bytes ("::ffff:10.0.0.1", "fd00::1"), which is
 * also what the ipv6 codec decodes a map key to, so kernel and desired state compare as strings.
 */
import { InvalidArgumentError } from '@bpfsteer/core-bpf';
import { toMappedIpv6, tryParseIp } from '@bpfsteer/ip';

const V4_KEY = /^::ffff:\d+\.\d+\.\d+\.\d+$/;

/** The mesh key of an IPv4 or IPv6 address text; throws InvalidArgumentError naming `what`. */
export function meshKey(address: string, what = 'address'): string {
  const parsed = tryParseIp(address, { what });
  if (!parsed.ok) throw new InvalidArgumentError(parsed.error.message);
  // an IPv4 address's text is canonical: its key is "::ffff:" + the same text
  return parsed.value.family === 4 ? `::ffff:${parsed.value.text}` : toMappedIpv6(parsed.value).text;
}

/** The address a mesh key stands for, as people write it ("10.0.0.1" for an IPv4-mapped key). */
export function displayAddress(key: string): string {
  return isIpv4Key(key) ? key.slice(7) : key;
}

/** Whether a mesh key stands for an IPv4 address (is IPv4-mapped). */
export function isIpv4Key(key: string): boolean {
  return V4_KEY.test(key);
}

/**
 * meshKey() remembered from one desired state to the next: parsing and formatting addresses is most
 * of the cost of reading a large desired state, and almost every address is the same as last time.
 * Two generations: `rotate()` (once per desired state read) forgets the addresses not used since the
 * rotate before, so it holds at most the addresses of the last two states.
 */
export class MeshKeyCache {
  #current = new Map<string, string>();
  #previous = new Map<string, string>();

  /** meshKey(address, what), from the cache when known (`what` is only evaluated for a new address). */
  key(address: string, what?: string | (() => string)): string {
    let key = this.#current.get(address);
    if (key !== undefined) return key;
    key = this.#previous.get(address) ?? meshKey(address, typeof what === 'function' ? what() : what);
    this.#current.set(address, key);
    return key;
  }

  rotate(): void {
    this.#previous = this.#current;
    this.#current = new Map();
  }

  /** addresses held (both generations) */
  get size(): number {
    return this.#current.size + this.#previous.size;
  }
}
