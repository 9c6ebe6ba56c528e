/**
 * Whether a divert rule's connections can be taken: the datapath hands a packet to the socket
 * listening at 127.0.0.1 (IPv4) or ::1 (IPv6) on the rule's tproxy port, a TCP one in LISTEN or an
 * unconnected UDP one, and drops it when there is none (tc_tproxy.bpf.c). The listeners of the
 * plugin's netns are read once per describe (sock_diag), so that `describe('tproxy.rule')` says
 * which rules divert nothing now and why. (An OpenZiti router listens on 127.0.0.1 alone, even
 * for IPv6 intercepts.)
 */
import { tcpListeners, udpListeners, type TcpListenerSocket } from '@bpfsteer/core-bpf';
import type { TproxyRuleIntent } from '@bpfsteer/contract-tproxy';

/** Ports with a socket the datapath would find, by protocol and family. */
export interface DivertListeners {
  readonly tcp: { readonly 4: ReadonlySet<number>; readonly 6: ReadonlySet<number> };
  readonly udp: { readonly 4: ReadonlySet<number>; readonly 6: ReadonlySet<number> };
}

/** The ports the lookup at 127.0.0.1 / ::1 finds among `sockets` (a [::] socket may take IPv4 too). */
export function portsByFamily(sockets: readonly Pick<TcpListenerSocket, 'family' | 'address' | 'port'>[]): { 4: Set<number>; 6: Set<number> } {
  const ports = { 4: new Set<number>(), 6: new Set<number>() };
  for (const s of sockets) {
    if (s.family === 4 && (s.address === '127.0.0.1' || s.address === '0.0.0.0')) ports[4].add(s.port);
    if (s.family === 6 && (s.address === '::1' || s.address === '::')) ports[6].add(s.port);
    if (s.family === 6 && s.address === '::') ports[4].add(s.port);
  }
  return ports;
}

/** The listeners of `netns` (the current one when absent). */
export function readDivertListeners(netns?: string): DivertListeners {
  const options = netns === undefined ? {} : { netns };
  return { tcp: portsByFamily(tcpListeners(options)), udp: portsByFamily(udpListeners(options)) };
}

/** Why `intent` diverts nothing now, or undefined (not a divert rule, or its listener is there). */
export function divertProblem(intent: Pick<TproxyRuleIntent, 'action' | 'destination' | 'protocol' | 'tproxyPort'>, listeners: DivertListeners): string | undefined {
  if (intent.action !== 'divert' || intent.tproxyPort === undefined) return undefined;
  const family = intent.destination.includes(':') ? 6 : 4;
  const port = intent.tproxyPort;
  const ports = listeners[intent.protocol];
  if (ports[family].has(port)) return undefined;
  const at = family === 4 ? `127.0.0.1:${port}` : `[::1]:${port}`;
  const why = family === 6 && ports[4].has(port) ? ` (only an IPv4 socket listens on port ${port})` : '';
  return `no ${intent.protocol.toUpperCase()} listener at ${at}${why}: its connections are dropped`;
}
