/**
 * Prefixes as this plugin's BPF keys hold them: parsed by @bpfsteer/ip (whose host-bit rule refuses
 * "10.0.0.5/24"), kept as 16 network-order bytes (IPv4 in bytes 0..3, the rest zero), with the
 * canonical text and a compact key that is cheap to compute for any truncation of the prefix.
 */
import { formatIpv4, formatIpv6, hasHostBits, parseIpv4PrefixInto, tryParsePrefix, prefixContains, type IpError, type IpFamily } from '@bpfsteer/ip';

export type { IpFamily };

export interface Prefix {
  readonly family: IpFamily;
  /** 16 bytes, network order, host bits cleared; IPv4 uses bytes 0..3 */
  readonly bytes: Uint8Array;
  readonly length: number;
  /** canonical "address/length" (@bpfsteer/ip's canonical text) */
  readonly text: string;
  /** compact key, equal for equal prefixes of one family: see prefixKey */
  readonly key: string;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * Compact key of the first `length` bits of `bytes` (bits after them are ignored, as if cleared):
 * "<length>:<hex of the significant bytes>". Allocation-light: the hot path of the rule compiler.
 */
export function prefixKey(bytes: Uint8Array, length: number, offset = 0): string {
  const full = length >> 3;
  const rest = length & 7;
  let s = `${length}:`;
  for (let i = 0; i < full; i++) s += HEX[bytes[offset + i]];
  if (rest > 0) s += HEX[bytes[offset + full] & ((0xff << (8 - rest)) & 0xff)];
  return s;
}

/**
 * A Prefix whose 16 bytes are a slice of a shared slab (keyBytes), or any array given: a view of
 * the slab is made when `bytes` is read, not kept (a view costs ~100 bytes; a rule set keeps
 * 100,000 prefixes).
 */
class KeyPrefix implements Prefix {
  readonly #base: Uint8Array;
  /** where the 16 bytes start in #base (a slab); -1: #base is them */
  readonly #offset: number;

  constructor(
    readonly family: IpFamily,
    base: Uint8Array,
    offset: number,
    readonly length: number,
    readonly text: string,
    readonly key: string,
  ) {
    this.#base = base;
    this.#offset = offset;
  }

  get bytes(): Uint8Array {
    return this.#offset < 0 ? this.#base : this.#base.subarray(this.#offset, this.#offset + 16);
  }

  /** Byte `i` of `bytes`, without making a view. */
  byte(i: number): number {
    return this.#base[(this.#offset < 0 ? 0 : this.#offset) + i];
  }

  /** Copies the 16 bytes into `target` at `at`, without making a view. */
  copyTo(target: Uint8Array, at: number): void {
    const base = this.#base;
    const from = this.#offset < 0 ? 0 : this.#offset;
    for (let i = 0; i < 16; i++) target[at + i] = base[from + i];
  }

  /** The key of this prefix cut to `length` bits (prefixKey), without making a view. */
  keyAt(length: number): string {
    return prefixKey(this.#base, length, this.#offset < 0 ? 0 : this.#offset);
  }

  /** Whether this prefix contains `inner` (same family, not longer, equal leading bits), without making views. */
  contains(inner: KeyPrefix): boolean {
    if (this.family !== inner.family || this.length > inner.length) return false;
    const a = this.#base;
    const b = inner.#base;
    const i0 = this.#offset < 0 ? 0 : this.#offset;
    const j0 = inner.#offset < 0 ? 0 : inner.#offset;
    const full = this.length >> 3;
    for (let k = 0; k < full; k++) if (a[i0 + k] !== b[j0 + k]) return false;
    const rest = this.length & 7;
    if (rest === 0) return true;
    const mask = (0xff << (8 - rest)) & 0xff;
    return (a[i0 + full] & mask) === (b[j0 + full] & mask);
  }
}

/** Byte `i` of a prefix's 16 key bytes (no view made for the prefixes of this module). */
export function prefixByte(prefix: Prefix, i: number): number {
  return prefix instanceof KeyPrefix ? prefix.byte(i) : prefix.bytes[i];
}

/** Copies a prefix's 16 key bytes into `target` at `at` (no view made for the prefixes of this module). */
export function copyPrefixBytes(prefix: Prefix, target: Uint8Array, at: number): void {
  if (prefix instanceof KeyPrefix) prefix.copyTo(target, at);
  else target.set(prefix.bytes, at);
}

/** prefixKey of `prefix` cut to `length` bits (no view made for the prefixes of this module). */
export function prefixKeyAt(prefix: Prefix, length: number): string {
  return prefix instanceof KeyPrefix ? prefix.keyAt(length) : prefixKey(prefix.bytes, length);
}

/** Whether `outer` contains `inner`: the same family, `inner` not shorter, the same leading `outer.length` bits. */
export function keyPrefixContains(outer: Prefix, inner: Prefix): boolean {
  if (outer instanceof KeyPrefix && inner instanceof KeyPrefix) return outer.contains(inner);
  return prefixContains(outer, inner);
}

/** A prefix from 16 key bytes and a length (host bits must already be clear); `text` when its canonical text is known. */
export function makePrefix(family: IpFamily, bytes16: Uint8Array, length: number, text?: string): Prefix {
  text ??= `${family === 4 ? formatIpv4(bytes16) : formatIpv6(bytes16)}/${length}`;
  return new KeyPrefix(family, bytes16, -1, length, text, prefixKey(bytes16, length));
}

/** makePrefix, with its bytes copied into a slab (see keyBytes). */
function slabPrefix(family: IpFamily, bytes: Uint8Array, length: number, text: string): Prefix {
  const { slab, offset } = keyBytes();
  slab.set(bytes, offset);
  return new KeyPrefix(family, slab, offset, length, text, prefixKey(slab, length, offset));
}

/** Whether the bits of `bytes16` after `length` (and IPv4's bytes 4..15) are all zero. */
export function hostBitsClear(family: IpFamily, bytes16: Uint8Array, length: number): boolean {
  if (family === 4) {
    for (let i = 4; i < 16; i++) if (bytes16[i] !== 0) return false;
    return !hasHostBits(bytes16.subarray(0, 4), length);
  }
  return !hasHostBits(bytes16, length);
}

export type ParsedPrefix = { readonly ok: true; readonly prefix: Prefix } | { readonly ok: false; readonly error: IpError };

/**
 * 16 zeroed key bytes carved from a shared slab (at `offset`): a parsed prefix then holds no
 * ArrayBuffer nor view of its own (a rule set of 100,000 prefixes holds ~20 MB less). A slab lives
 * as long as any of its prefixes.
 */
const SLAB_PREFIXES = 4096;
let currentSlab = new Uint8Array(0);
let slabUsed = 0;

function keyBytes(): { slab: Uint8Array; offset: number } {
  ensureSlab();
  const offset = slabUsed;
  slabUsed += 16;
  return { slab: currentSlab, offset };
}

/** Makes sure the current slab has room for one more prefix. */
function ensureSlab(): void {
  if (slabUsed === currentSlab.length) {
    currentSlab = new Uint8Array(16 * SLAB_PREFIXES);
    slabUsed = 0;
  }
}

/**
 * The usual rule prefix, IPv4 "a.b.c.d/len" without host bits, parsed straight into the slab
 * (@bpfsteer/ip's parseIpv4PrefixInto: no address object, bytes or result objects per prefix, which
 * a batch of 100,000 rules pays for in garbage collection); its canonical text is the text itself.
 * Anything else (IPv6, bare addresses, errors) is left to tryParsePrefix: undefined.
 */
function fastIpv4Prefix(text: string): Prefix | undefined {
  ensureSlab();
  const offset = slabUsed;
  const length = parseIpv4PrefixInto(text, currentSlab, offset);
  if (length < 0) return undefined;
  slabUsed += 16;
  return new KeyPrefix(4, currentSlab, offset, length, text, prefixKey(currentSlab, length, offset));
}

/**
 * Parsed texts kept, direct-mapped by a hash of the text (a text takes the slot of the one before
 * it): enough for the texts many rules share (sources like 0.0.0.0/0, a service's destination),
 * with no map to grow and clear while a batch of 100,000 distinct destinations passes through; a
 * rule set's own prefixes stay with its rules (RuleNormalizer finds an unchanged rule without
 * parsing), not here as well.
 */
const CACHE_SLOTS = 1 << 12;
/** by slot: the text, and its prefix or why it is not one (no wrapper object per entry) */
const cachedTexts = new Array<string | undefined>(CACHE_SLOTS).fill(undefined);
const cachedResults = new Array<Prefix | IpError | undefined>(CACHE_SLOTS).fill(undefined);

function cacheSlot(text: string): number {
  let h = text.length;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h ^ (h >>> 13)) & (CACHE_SLOTS - 1);
}

function isPrefix(hit: Prefix | IpError): hit is Prefix {
  return hit instanceof KeyPrefix;
}

/**
 * A rule's prefix text as a key prefix (a bare address is a host prefix; host bits are refused).
 * Results are cached by text (a desired state is re-applied whole, mostly unchanged); the prefixes
 * are shared, never modify them.
 */
export function parseKeyPrefix(text: unknown): ParsedPrefix {
  const hit = keyPrefixOrError(text);
  return isPrefix(hit) ? { ok: true, prefix: hit } : { ok: false, error: hit };
}

/** parseKeyPrefix without the result object: the prefix, or undefined when `text` is not one. */
export function keyPrefixOf(text: unknown): Prefix | undefined {
  const hit = keyPrefixOrError(text);
  return isPrefix(hit) ? hit : undefined;
}

function keyPrefixOrError(text: unknown): Prefix | IpError {
  if (typeof text !== 'string') return parsedPrefix(text);
  const slot = cacheSlot(text);
  if (cachedTexts[slot] === text) return cachedResults[slot]!;
  const hit = fastIpv4Prefix(text) ?? parsedPrefix(text);
  cachedTexts[slot] = text;
  cachedResults[slot] = hit;
  return hit;
}

/** `text` parsed by @bpfsteer/ip: the prefix, or why it is not one. */
function parsedPrefix(text: unknown): Prefix | IpError {
  const parsed = tryParsePrefix(text);
  if (!parsed.ok) return parsed.error;
  const { family, bytes, length, text: canonical } = parsed.value;
  return slabPrefix(family, bytes, length, canonical);
}

/** "ip:port" or "[v6]:port" of 16 key bytes. */
export function formatEndpoint(family: IpFamily, bytes16: Uint8Array, port: number): string {
  return family === 4 ? `${formatIpv4(bytes16)}:${port}` : `[${formatIpv6(bytes16)}]:${port}`;
}
