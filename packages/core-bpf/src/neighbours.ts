/**
 * Kernel neighbour (ARP / NDP) entries over rtnetlink: list them, keep a kernel-MANAGED entry for a
 * next hop (the kernel resolves it by itself and keeps it REACHABLE, kernel >= 5.16), delete one.
 * Entries bpfsteer creates carry a protocol number (NDA_PROTOCOL, default
 * BPFSTEER_NEIGH_PROTOCOL) so a restarted owner finds its own entries and leaves everyone else's.
 */
import { formatIp, tryParseIp, type IpAddress } from '@bpfsteer/ip';
import { formatMac } from './codec/mac-address.js';
import { C } from './ffi/libc.js';
import { NEIGH, NL } from './ffi/netlink-constants.js';
import { InvalidArgumentError } from './errors.js';
import { ifIndex, ifName, validateIfname } from './interfaces.js';
import { inNetns } from './netns.js';
import { decodeAttrs, encodeMessage, rtnetlinkRequest, u32Attr, u8Attr, encodeAttr, type NetlinkMessage } from './rtnetlink.js';

/** The protocol number (NDA_PROTOCOL) marking neighbour entries bpfsteer created. */
export const BPFSTEER_NEIGH_PROTOCOL = 0xb5;

export type NeighbourState =
  | 'none'
  | 'incomplete'
  | 'reachable'
  | 'stale'
  | 'delay'
  | 'probe'
  | 'failed'
  | 'noarp'
  | 'permanent';

export interface Neighbour {
  /** interface name (undefined if the index has no name any more) */
  readonly ifname: string | undefined;
  readonly ifindex: number;
  /** canonical IP address text */
  readonly address: string;
  /** link-layer address, when the entry has one */
  readonly lladdr?: string;
  readonly state: NeighbourState;
  /** NTF_EXT_MANAGED: the kernel keeps it resolved by itself */
  readonly managed: boolean;
  /** NDA_PROTOCOL, 0 when unset */
  readonly protocol: number;
}

export interface NeighbourTarget {
  readonly ifname: string;
  /** IPv4 or IPv6 address of the neighbour */
  readonly address: string;
  /** network namespace (name in /var/run/netns or a path); default: the caller's */
  readonly netns?: string;
}

export interface SetManagedNeighbourOptions extends NeighbourTarget {
  /** NDA_PROTOCOL marking the entry, 1..255; default BPFSTEER_NEIGH_PROTOCOL */
  readonly protocol?: number;
}

export interface DeleteNeighbourOptions extends NeighbourTarget {
  /** delete only an entry carrying this protocol (others are left alone); default: any */
  readonly protocol?: number;
}

export interface ListNeighboursOptions {
  readonly ifname?: string;
  readonly netns?: string;
  /** only entries carrying this protocol */
  readonly protocol?: number;
}

const STATE_NAMES: ReadonlyArray<[number, NeighbourState]> = [
  [NEIGH.state.PERMANENT, 'permanent'],
  [NEIGH.state.NOARP, 'noarp'],
  [NEIGH.state.REACHABLE, 'reachable'],
  [NEIGH.state.STALE, 'stale'],
  [NEIGH.state.DELAY, 'delay'],
  [NEIGH.state.PROBE, 'probe'],
  [NEIGH.state.FAILED, 'failed'],
  [NEIGH.state.INCOMPLETE, 'incomplete'],
];

/** The name of an ndm_state value (the most significant bit set wins). */
export function neighbourStateName(state: number): NeighbourState {
  return STATE_NAMES.find(([bit]) => (state & bit) !== 0)?.[1] ?? 'none';
}

function parseAddress(address: unknown, what: string): IpAddress {
  const result = tryParseIp(address, { what: 'neighbour address' });
  if (!result.ok) throw new InvalidArgumentError(`${what}: ${result.error.message}`);
  const parsed = result.value;
  if ((parsed.family === 4 && parsed.bytes[0] >= 224) || (parsed.family === 6 && parsed.bytes[0] === 0xff) || parsed.bytes.every((b) => b === 0)) {
    throw new InvalidArgumentError(`${what}: ${address} cannot be a neighbour (multicast, broadcast or unspecified); expected a unicast address`);
  }
  return parsed;
}

function checkProtocol(protocol: unknown, what: string): number | undefined {
  if (protocol === undefined) return undefined;
  if (!Number.isInteger(protocol) || (protocol as number) < 1 || (protocol as number) > 255) {
    throw new InvalidArgumentError(`${what}: protocol must be an integer 1..255, got ${JSON.stringify(protocol)}`);
  }
  return protocol as number;
}

function checkTarget(o: NeighbourTarget, what: string): { ifname: string; ip: IpAddress } {
  if (o === null || typeof o !== 'object') throw new InvalidArgumentError(`${what}: expected { ifname, address, netns? }`);
  return { ifname: validateIfname(o.ifname), ip: parseAddress(o.address, what) };
}

/** struct ndmsg */
export function encodeNdmsg(family: 4 | 6 | 0, ifindex: number, state: number, flags: number): Buffer {
  const b = Buffer.alloc(NEIGH.NDMSG_LEN);
  b.writeUInt8(family === 4 ? C.AF_INET : family === 6 ? C.AF_INET6 : 0, 0);
  b.writeInt32LE(ifindex, 4);
  b.writeUInt16LE(state, 8);
  b.writeUInt8(flags, 10);
  return b;
}

/** An RTM_NEWNEIGH reply as a Neighbour (undefined for families other than IPv4/IPv6). */
export function decodeNeighbour(msg: Pick<NetlinkMessage, 'payload'>, nameOf: (ifindex: number) => string | undefined): Neighbour | undefined {
  const p = msg.payload;
  if (p.length < NEIGH.NDMSG_LEN) return undefined;
  const family = p.readUInt8(0);
  if (family !== C.AF_INET && family !== C.AF_INET6) return undefined;
  const ifindex = p.readInt32LE(4);
  const state = p.readUInt16LE(8);
  let address: string | undefined;
  let lladdr: string | undefined;
  let protocol = 0;
  let ext = 0;
  for (const a of decodeAttrs(p.subarray(NEIGH.NDMSG_LEN))) {
    if (a.type === NEIGH.NDA_DST && (a.data.length === 4 || a.data.length === 16)) address = formatIp(Uint8Array.from(a.data));
    else if (a.type === NEIGH.NDA_LLADDR && a.data.length === 6) lladdr = formatMac(a.data);
    else if (a.type === NEIGH.NDA_PROTOCOL && a.data.length >= 1) protocol = a.data[0];
    else if (a.type === NEIGH.NDA_FLAGS_EXT && a.data.length >= 4) ext = Buffer.from(a.data).readUInt32LE(0);
  }
  if (address === undefined) return undefined;
  return {
    ifname: nameOf(ifindex),
    ifindex,
    address,
    ...(lladdr ? { lladdr } : {}),
    state: neighbourStateName(state),
    managed: (ext & NEIGH.NTF_EXT_MANAGED) !== 0,
    protocol,
  };
}

function dumpNeighbours(context: string): Neighbour[] {
  const replies = rtnetlinkRequest('RTM_GETNEIGH', context, (seq) =>
    encodeMessage(NL.RTM_GETNEIGH, NL.F_REQUEST | NL.F_DUMP, seq, encodeNdmsg(0, 0, 0, 0)),
  );
  const names = new Map<number, string | undefined>();
  const nameOf = (i: number) => {
    if (!names.has(i)) names.set(i, ifName(i));
    return names.get(i);
  };
  return replies
    .filter((m) => m.type === NL.RTM_NEWNEIGH)
    .map((m) => decodeNeighbour(m, nameOf))
    .filter((n): n is Neighbour => n !== undefined);
}

/** The IPv4/IPv6 neighbour entries (of `ifname`, of `protocol`, when given) in the namespace. */
export function listNeighbours(options: ListNeighboursOptions = {}): Neighbour[] {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('listNeighbours: expected { ifname?, netns?, protocol? }');
  const ifname = options.ifname === undefined ? undefined : validateIfname(options.ifname);
  const protocol = checkProtocol(options.protocol, 'listNeighbours');
  return inNetns(options.netns, () => {
    const ifindex = ifname === undefined ? undefined : ifIndex(ifname);
    return dumpNeighbours('list neighbours').filter(
      (n) => (ifindex === undefined || n.ifindex === ifindex) && (protocol === undefined || n.protocol === protocol),
    );
  });
}

/**
 * Makes the kernel keep a MANAGED entry for `address` on `ifname` (created or replaced; the kernel
 * resolves it and keeps it reachable). A static entry someone else configured (PERMANENT or NOARP,
 * another protocol) is left alone: then the result is false. True when the managed entry is in place.
 */
export function setManagedNeighbour(options: SetManagedNeighbourOptions): boolean {
  const { ifname, ip } = checkTarget(options, 'setManagedNeighbour');
  const protocol = checkProtocol(options.protocol, 'setManagedNeighbour') ?? BPFSTEER_NEIGH_PROTOCOL;
  const text = ip.text;
  const context = `set managed neighbour ${text} dev ${ifname}`;
  return inNetns(options.netns, () => {
    const ifindex = ifIndex(ifname);
    const existing = dumpNeighbours(context).find((n) => n.ifindex === ifindex && n.address === text);
    if (existing && existing.protocol !== protocol && (existing.state === 'permanent' || existing.state === 'noarp')) return false;
    rtnetlinkRequest('RTM_NEWNEIGH', context, (seq) =>
      encodeMessage(NL.RTM_NEWNEIGH, NL.F_REQUEST | NL.F_ACK | NL.F_CREATE | NL.F_REPLACE, seq, encodeNdmsg(ip.family, ifindex, 0, 0), [
        encodeAttr(NEIGH.NDA_DST, ip.bytes),
        u8Attr(NEIGH.NDA_PROTOCOL, protocol),
        u32Attr(NEIGH.NDA_FLAGS_EXT, NEIGH.NTF_EXT_MANAGED),
      ]),
    );
    return true;
  });
}

/**
 * Deletes the entry for `address` on `ifname` (only when it carries `protocol`, if given).
 * False when there was no such entry (or it belongs to another protocol).
 */
export function deleteNeighbour(options: DeleteNeighbourOptions): boolean {
  const { ifname, ip } = checkTarget(options, 'deleteNeighbour');
  const protocol = checkProtocol(options.protocol, 'deleteNeighbour');
  const text = ip.text;
  const context = `delete neighbour ${text} dev ${ifname}`;
  return inNetns(options.netns, () => {
    const ifindex = ifIndex(ifname);
    const existing = dumpNeighbours(context).find((n) => n.ifindex === ifindex && n.address === text);
    if (!existing || (protocol !== undefined && existing.protocol !== protocol)) return false;
    rtnetlinkRequest('RTM_DELNEIGH', context, (seq) =>
      encodeMessage(NL.RTM_DELNEIGH, NL.F_REQUEST | NL.F_ACK, seq, encodeNdmsg(ip.family, ifindex, 0, 0), [encodeAttr(NEIGH.NDA_DST, ip.bytes)]),
    );
    return true;
  });
}
