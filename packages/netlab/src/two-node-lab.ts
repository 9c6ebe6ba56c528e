/**
 * Two "nodes" (netns) linked by a veth "wire", each with a "pod" (a netns of its own behind a veth,
 * routed through its node), as seed 001 draws them; `n` (1..254) numbers the addresses so that two
 * labs never share one:
 *
 *   pod A 10.n.1.2 --pod-- node A 10.n.1.1 | 192.168.n.1 ==wire== 192.168.n.2 | 10.n.2.1 node B --pod-- pod B 10.n.2.2 (+ 10.n.2.3)
 *
 * IPv6 alike: fdXX:1::/64, fdXX::/64 (the wire), fdXX:2::/64 with XX = n in hex. Nodes forward.
 */
import type { ChildProcess } from 'node:child_process';
import type { NetLab } from './net-lab.js';
import { spawnIn, untilLine } from './spawn-in.js';

export interface TwoNodeLab {
  readonly nodeA: string;
  readonly nodeB: string;
  readonly podA: string;
  readonly podB: string;
  /** node A's and node B's addresses on the wire */
  readonly wire: { readonly a4: string; readonly b4: string; readonly a6: string; readonly b6: string };
  /** node A's address towards pod A (what pod A reaches node A's listeners at) */
  readonly nodeA4: string;
  readonly nodeA6: string;
  /** node B's address towards pod B (where node B's connections to pod B come from) */
  readonly nodeB4: string;
  readonly nodeB6: string;
  readonly podA4: string;
  readonly podA6: string;
  readonly podB4: string;
  readonly podB6: string;
  /** a second address of pod B */
  readonly podBOther4: string;
  /** pod B's prefixes */
  readonly podBNet4: string;
  readonly podBNet6: string;
}

export function buildTwoNodeLab(lab: NetLab, n: number): TwoNodeLab {
  if (!Number.isInteger(n) || n < 1 || n > 254) throw new RangeError(`two-node lab: n must be 1..254, got ${n}`);
  const h = n.toString(16);
  const t: TwoNodeLab = {
    nodeA: lab.addNetns('na'),
    nodeB: lab.addNetns('nb'),
    podA: lab.addNetns('pa'),
    podB: lab.addNetns('pb'),
    wire: { a4: `192.168.${n}.1`, b4: `192.168.${n}.2`, a6: `fd${h}::1`, b6: `fd${h}::2` },
    nodeA4: `10.${n}.1.1`,
    nodeA6: `fd${h}:1::1`,
    nodeB4: `10.${n}.2.1`,
    nodeB6: `fd${h}:2::1`,
    podA4: `10.${n}.1.2`,
    podA6: `fd${h}:1::2`,
    podB4: `10.${n}.2.2`,
    podB6: `fd${h}:2::2`,
    podBOther4: `10.${n}.2.3`,
    podBNet4: `10.${n}.2.0/24`,
    podBNet6: `fd${h}:2::/64`,
  };
  lab.addVeth({ netns: t.nodeA, ifname: 'wire', addresses: [`${t.wire.a4}/24`, `${t.wire.a6}/64`] }, { netns: t.nodeB, ifname: 'wire', addresses: [`${t.wire.b4}/24`, `${t.wire.b6}/64`] });
  lab.addVeth({ netns: t.podA, ifname: 'eth0', addresses: [`${t.podA4}/24`, `${t.podA6}/64`] }, { netns: t.nodeA, ifname: 'pod', addresses: [`${t.nodeA4}/24`, `${t.nodeA6}/64`] });
  lab.addVeth({ netns: t.podB, ifname: 'eth0', addresses: [`${t.podB4}/24`, `${t.podBOther4}/24`, `${t.podB6}/64`] }, { netns: t.nodeB, ifname: 'pod', addresses: [`${t.nodeB4}/24`, `${t.nodeB6}/64`] });
  for (const [pod, gw4, gw6] of [[t.podA, t.nodeA4, t.nodeA6], [t.podB, t.nodeB4, t.nodeB6]] as const) {
    lab.ip(pod, 'route', 'add', 'default', 'via', gw4);
    lab.ip(pod, '-6', 'route', 'add', 'default', 'via', gw6);
  }
  lab.ip(t.nodeA, 'route', 'add', t.podBNet4, 'via', t.wire.b4);
  lab.ip(t.nodeA, '-6', 'route', 'add', t.podBNet6, 'via', t.wire.b6);
  lab.ip(t.nodeB, 'route', 'add', `10.${n}.1.0/24`, 'via', t.wire.a4);
  lab.ip(t.nodeB, '-6', 'route', 'add', `fd${h}:1::/64`, 'via', t.wire.a6);
  for (const node of [t.nodeA, t.nodeB]) {
    lab.sysctl(node, 'net.ipv4.ip_forward', 1);
    lab.sysctl(node, 'net.ipv6.conf.all.forwarding', 1);
  }
  return t;
}

/** An application on :80 (IPv4 and IPv6) that answers, once the client half-closed, "peer <its address> got <what it sent>". */
const PEER_SERVER = String.raw`
import socket, threading
def serve(fam, host):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((host, 80))
    s.listen(64)
    while True:
        c, peer = s.accept()
        data = b''
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
        c.sendall(('peer %s got %s' % (peer[0], data.decode())).encode())
        c.close()
for fam, host in ((socket.AF_INET, '0.0.0.0'), (socket.AF_INET6, '::')):
    threading.Thread(target=serve, args=(fam, host), daemon=True).start()
print('ready', flush=True)
threading.Event().wait()
`;

/** Starts that application in `netns` (python3); resolves once it listens. Kill the child to stop it. */
export async function startPeerServer(lab: NetLab, netns: string): Promise<ChildProcess> {
  const child = spawnIn(lab.nsPath(netns), ['python3', '-c', PEER_SERVER], { stdio: ['ignore', 'pipe', 'ignore'] });
  await untilLine(child, 'ready');
  return child;
}
