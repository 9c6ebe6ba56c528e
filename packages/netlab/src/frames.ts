/**
 * Raw Ethernet + IPv4/IPv6 (+ UDP/TCP) frames, e.g. the input of BPF_PROG_TEST_RUN for tc
 * programs. Pure: no sockets, no privileges. Addresses are network-order bytes (4 or 16); every
 * length and checksum field is filled in (IPv4 header checksum, UDP/TCP checksum over the pseudo
 * header), MAC addresses are zero.
 */

/** 'udp' / 'tcp' add an 8 / 20-byte header carrying the ports; a number is any IP protocol, with `payload` as its bytes. */
export type FrameProtocol = 'udp' | 'tcp' | number;

export interface FrameOptions {
  /** source address, network order: 4 bytes for IPv4, 16 for IPv6 (default 192.0.2.1 / 2001:db8::1) */
  readonly src?: Uint8Array;
  /** destination address (default 192.0.2.2 / 2001:db8::2) */
  readonly dst?: Uint8Array;
  /** default 'udp' */
  readonly proto?: FrameProtocol;
  /** UDP/TCP source port, default 1000 */
  readonly sport?: number;
  /** UDP/TCP destination port, default 2000 */
  readonly dport?: number;
  /** TCP flags byte, default 0x02 (SYN) */
  readonly tcpFlags?: number;
  /** IPv4 TTL or IPv6 hop limit, default 64 */
  readonly ttl?: number;
  /** bytes after the UDP/TCP header (the whole L4 part for a numeric `proto`), default none */
  readonly payload?: Uint8Array;
}

const ETH_HLEN = 14;
const IPV4_HLEN = 20;
const IPV6_HLEN = 40;
const PROTO_TCP = 6;
const PROTO_UDP = 17;

const DEFAULTS = {
  4: { src: Uint8Array.of(192, 0, 2, 1), dst: Uint8Array.of(192, 0, 2, 2) },
  6: {
    src: Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1),
    dst: Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2),
  },
} as const;

function checkInt(fn: string, name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${fn}: ${name} must be an integer 0..${max}, got ${String(value)}`);
  }
  return value;
}

function checkAddress(fn: string, name: 'src' | 'dst', given: Uint8Array | undefined, family: 4 | 6): Uint8Array {
  const size = family === 4 ? 4 : 16;
  const value = given ?? DEFAULTS[family][name];
  if (!(value instanceof Uint8Array) || value.length !== size) {
    const got = value instanceof Uint8Array ? `${value.length} bytes` : typeof value;
    throw new RangeError(`${fn}: ${name} must be ${size} bytes (an IPv${family} address in network order), got ${got}`);
  }
  return value;
}

/** Adds 16-bit big-endian words of `bytes[from, to)` to `sum` (ones' complement arithmetic, carries folded later). */
function sumWords(bytes: Uint8Array, from: number, to: number, sum = 0): number {
  for (let i = from; i < to; i += 2) sum += (bytes[i] << 8) | (i + 1 < to ? bytes[i + 1] : 0);
  return sum;
}

function foldChecksum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

interface L4 {
  readonly proto: number;
  readonly length: number;
  /** writes the L4 part at `offset`, with its checksum field zero */
  write(frame: Uint8Array, view: DataView, offset: number): void;
  /** offset of the checksum field within the L4 header, or -1 */
  readonly checksumAt: number;
}

function l4Part(fn: string, options: FrameOptions): L4 {
  const proto = options.proto ?? 'udp';
  const payload = options.payload ?? new Uint8Array(0);
  if (!(payload instanceof Uint8Array)) throw new RangeError(`${fn}: payload must be a Uint8Array`);
  if (typeof proto === 'number') {
    checkInt(fn, 'proto', proto, 255);
    return { proto, length: payload.length, checksumAt: -1, write: (frame, _view, at) => frame.set(payload, at) };
  }
  if (proto !== 'udp' && proto !== 'tcp') {
    throw new RangeError(`${fn}: proto must be 'udp', 'tcp' or an IP protocol number 0..255, got ${JSON.stringify(proto)}`);
  }
  const sport = checkInt(fn, 'sport', options.sport ?? 1000, 0xffff);
  const dport = checkInt(fn, 'dport', options.dport ?? 2000, 0xffff);
  if (proto === 'udp') {
    const length = 8 + payload.length;
    return {
      proto: PROTO_UDP,
      length,
      checksumAt: 6,
      write(frame, view, at) {
        view.setUint16(at, sport);
        view.setUint16(at + 2, dport);
        view.setUint16(at + 4, length);
        frame.set(payload, at + 8);
      },
    };
  }
  const flags = checkInt(fn, 'tcpFlags', options.tcpFlags ?? 0x02, 0xff);
  return {
    proto: PROTO_TCP,
    length: 20 + payload.length,
    checksumAt: 16,
    write(frame, view, at) {
      view.setUint16(at, sport);
      view.setUint16(at + 2, dport);
      frame[at + 12] = 5 << 4; // data offset: 5 words, no options
      frame[at + 13] = flags;
      view.setUint16(at + 14, 0xffff); // window
      frame.set(payload, at + 20);
    },
  };
}

function build(family: 4 | 6, options: FrameOptions): Uint8Array {
  const fn = family === 4 ? 'ipv4Frame' : 'ipv6Frame';
  if (options === null || typeof options !== 'object') throw new RangeError(`${fn}: options must be an object`);
  const src = checkAddress(fn, 'src', options.src, family);
  const dst = checkAddress(fn, 'dst', options.dst, family);
  const ttl = checkInt(fn, 'ttl', options.ttl ?? 64, 255);
  const l4 = l4Part(fn, options);
  const ipHeader = family === 4 ? IPV4_HLEN : IPV6_HLEN;
  const limit = family === 4 ? 0xffff - IPV4_HLEN : 0xffff;
  if (l4.length > limit) throw new RangeError(`${fn}: payload too large (${l4.length} bytes after the IP header, at most ${limit})`);

  const frame = new Uint8Array(ETH_HLEN + ipHeader + l4.length);
  const view = new DataView(frame.buffer);
  const ip = ETH_HLEN;
  const l4At = ip + ipHeader;
  view.setUint16(12, family === 4 ? 0x0800 : 0x86dd);
  let pseudo: number;
  if (family === 4) {
    frame[ip] = 0x45; // version 4, 5-word header
    view.setUint16(ip + 2, IPV4_HLEN + l4.length);
    frame[ip + 8] = ttl;
    frame[ip + 9] = l4.proto;
    frame.set(src, ip + 12);
    frame.set(dst, ip + 16);
    view.setUint16(ip + 10, foldChecksum(sumWords(frame, ip, ip + IPV4_HLEN)));
    pseudo = sumWords(frame, ip + 12, ip + 20) + l4.proto + l4.length;
  } else {
    frame[ip] = 0x60; // version 6, traffic class and flow label 0
    view.setUint16(ip + 4, l4.length);
    frame[ip + 6] = l4.proto;
    frame[ip + 7] = ttl;
    frame.set(src, ip + 8);
    frame.set(dst, ip + 24);
    pseudo = sumWords(frame, ip + 8, ip + 40) + l4.proto + l4.length;
  }
  l4.write(frame, view, l4At);
  if (l4.checksumAt >= 0) {
    const sum = foldChecksum(sumWords(frame, l4At, frame.length, pseudo));
    // UDP sends a computed 0 as 0xffff (0 means "no checksum")
    view.setUint16(l4At + l4.checksumAt, sum === 0 && l4.proto === PROTO_UDP ? 0xffff : sum);
  }
  return frame;
}

/** An Ethernet + IPv4 frame (+ UDP by default); `src`/`dst` are 4 bytes. */
export function ipv4Frame(options: FrameOptions = {}): Uint8Array {
  return build(4, options);
}

/** An Ethernet + IPv6 frame (+ UDP by default); `src`/`dst` are 16 bytes. */
export function ipv6Frame(options: FrameOptions = {}): Uint8Array {
  return build(6, options);
}

/** ipv4Frame or ipv6Frame, chosen by the length of `src` (or of `dst` when `src` is not given). */
export function ipFrame(options: FrameOptions & ({ readonly src: Uint8Array } | { readonly dst: Uint8Array })): Uint8Array {
  const size = (options?.src ?? options?.dst)?.length;
  if (size === 4) return ipv4Frame(options);
  if (size === 16) return ipv6Frame(options);
  throw new RangeError(`ipFrame: src (or dst) must be 4 bytes (IPv4) or 16 bytes (IPv6), got ${size ?? 'none'}`);
}
