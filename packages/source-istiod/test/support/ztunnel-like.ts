// A ztunnel-like node proxy for the kernel tests, run as a child process:
//   node --import ./ts-hooks.mjs ztunnel-like.ts --zds PATH [--register PATH] [--port 15008]
//        [--mark 0x539] [--refuse UID] [--garble UID] [--listen-delay MS] [--listeners dual|separate]
// It is a ZDS client (ZdsHello V1 first, reconnecting after 100 ms when the connection ends) and, for
// every AddWorkload, enters the received netns fd on its main thread (synchronously), opens its
// HBONE listener there (dual-stack [::]:PORT, SO_MARK = --mark), returns to its own netns and
// answers with an Ack. With --listeners separate it opens two instead, an IPv4-only 0.0.0.0:PORT
// and an IPv6-only [::]:PORT (made by a python3 helper inside the netns, which hands them over
// with SCM_RIGHTS: Node cannot bind an IPv4 address synchronously). Each connection to the listener is answered "hbone <uid> <local address>
// <local port>" (the original destination when sk_lookup diverted it) and closed. Del closes a pod's listener and fd; SnapshotSent drops the pods not named since the
// connection started. With --register it hands each listener to that registration socket. --refuse
// answers the Add of UID with an Ack error, --garble with bytes that are no WorkloadResponse;
// --listen-delay acks an Add at once and opens its listener MS later. --fail-first UID refuses the
// first Add of UID the way ztunnel refuses a pod it cannot start ("failure to start proxy", an Ack
// error), keeps it pending and retries it every --retry-ms (default 5000, ztunnel's RETRY_DURATION;
// istio/ztunnel src/inpod/statemanager.rs): the retry opens its listener and says nothing over ZDS.
// Commands, one JSON line each on stdin: {"id", "dial": {"uid", "host", "port", "bind"?, "mark"?}}
// makes the proxy's own connection from inside that pod's netns (a helper process it spawns, so in
// its cgroup; SO_MARK = mark, default --mark) and prints {"event":"dialed","id",...result}.
// Prints one JSON line per event on stdout.
import { spawnSync } from 'node:child_process';
import { closeSync, fstatSync } from 'node:fs';
import net from 'node:net';
import { createInterface } from 'node:readline';
import {
  interfaceAddresses,
  interfaceNames,
  NetnsHandle,
  receiveFds,
  SeqpacketSocket,
  setSocketMark,
  socketPair,
  withNetns,
} from '@bpfsteer/core-bpf';
import { tcpClient } from '@bpfsteer/netlab';
import { loadZdsProtos } from '../../src/zds/zds-protos.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const zdsPath = args.get('zds')!;
const registerPath = args.get('register');
const port = Number(args.get('port') ?? 15008);
const mark = Number(args.get('mark') ?? 0x539);
const codec = loadZdsProtos();

const separate = args.get('listeners') === 'separate';

interface Pod {
  netnsFd: number;
  servers: net.Server[];
}
const pods = new Map<string, Pod>();
let named = new Set<string>();

const say = (event: object): void => {
  process.stdout.write(`${JSON.stringify(event)}\n`);
};

const serverFd = (server: net.Server): number => (server as unknown as { _handle: { fd: number } })._handle.fd;

const hboneServer = (uid: string): net.Server =>
  net.createServer((c) => {
    c.on('error', () => undefined);
    c.end(`hbone ${uid} ${c.localAddress} ${c.localPort}\n`);
    say({ event: 'served', uid });
  });

// binds 0.0.0.0:PORT and a v6-only [::]:PORT in the netns it runs in, hands both to fd 3
const BIND_SEPARATE = String.raw`
import socket, sys
port = int(sys.argv[1])
s4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s4.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s4.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s4.bind(('0.0.0.0', port))
s6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s6.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s6.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s6.bind(('::', port))
socket.send_fds(socket.socket(fileno=3), [b'x'], [s4.fileno(), s6.fileno()])
`;

/** An IPv4-only and an IPv6-only socket bound to PORT in the netns of `netnsFd` (not listening yet). */
function bindSeparate(netnsFd: number): number[] {
  const [mine, theirs] = socketPair();
  try {
    const r = spawnSync('nsenter', [`--net=/proc/${process.pid}/fd/${netnsFd}`, '--', 'python3', '-c', BIND_SEPARATE, String(port)], {
      stdio: ['ignore', 'pipe', 'pipe', theirs],
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`binding the separate listeners failed (${r.status}): ${r.stderr}`);
    const { fds } = receiveFds(mine, 2);
    if (fds.length !== 2) throw new Error(`expected 2 listener fds, got ${fds.length}`);
    return fds;
  } finally {
    closeSync(mine);
    closeSync(theirs);
  }
}

function openListeners(uid: string, netnsFd: number): { servers: net.Server[]; addresses: string[] } {
  const handle = NetnsHandle.open(`/proc/self/fd/${netnsFd}`);
  try {
    const servers = separate
      ? bindSeparate(netnsFd).map((fd) => {
          setSocketMark(fd, mark);
          return hboneServer(uid).listen({ fd });
        })
      : withNetns(handle, () => {
          const server = hboneServer(uid);
          // no host: the socket is made now, in this netns. SO_REUSEPORT, as ztunnel binds in-pod listeners
          // (istio/ztunnel src/inpod/config.rs, InPodSocketPortReuseFactory): during a rolling update the
          // old and the new proxy both listen in each pod
          server.listen({ port, ipv6Only: false, reusePort: true });
          setSocketMark(serverFd(server), mark);
          return [server];
        });
    const addresses = withNetns(handle, () => interfaceNames().flatMap((n) => interfaceAddresses(n).map((a) => a.address)));
    return { servers, addresses };
  } finally {
    handle.close();
  }
}

async function register(uid: string, server: net.Server): Promise<void> {
  const fd = serverFd(server);
  const socket = SeqpacketSocket.connect(registerPath!, { keepAlive: false });
  const reply = new Promise<string>((resolve) => socket.start({ message: (m) => resolve(m.payload.toString()), end: () => resolve('closed') }));
  await socket.send(Buffer.from(JSON.stringify({ uid })), [fd]);
  say({ event: 'registered', uid, reply: JSON.parse(await reply) });
  socket.close();
}

/** pods refused once (--fail-first), retried by a timer as ztunnel retries its pending workloads */
const pending = new Map<string, { netnsFd: number; timer: NodeJS.Timeout }>();
const failedOnce = new Set<string>();

function dropPod(uid: string): void {
  const waiting = pending.get(uid);
  if (waiting) {
    clearTimeout(waiting.timer);
    closeSync(waiting.netnsFd);
    pending.delete(uid);
  }
  const pod = pods.get(uid);
  if (!pod) return;
  pods.delete(uid);
  for (const server of pod.servers) server.close();
  closeSync(pod.netnsFd);
}

function handle(socket: SeqpacketSocket, payload: Buffer, fds: number[]): void {
  const ack = (error = ''): void => void socket.send(codec.encodeResponse({ ack: { error } }));
  let req;
  try {
    req = codec.decodeRequest(payload);
  } catch (err) {
    for (const fd of fds) closeSync(fd);
    say({ event: 'bad-request', error: String(err) });
    ack(`cannot decode: ${String(err)}`);
    return;
  }
  if (req.payload === 'add') {
    const uid = req.add!.uid;
    named.add(uid);
    const netnsFd = fds[0];
    if (args.get('garble') === uid) {
      closeSync(netnsFd);
      void socket.send(Buffer.from([0xff, 0xff, 0xff]));
      say({ event: 'garbled', uid });
      return;
    }
    if (args.get('refuse') === uid) {
      closeSync(netnsFd);
      ack('refused by the test proxy');
      say({ event: 'refused', uid });
      return;
    }
    if (args.get('fail-first') === uid && !failedOnce.has(uid)) {
      failedOnce.add(uid);
      dropPod(uid);
      const timer = setTimeout(() => {
        pending.delete(uid);
        const { servers, addresses } = openListeners(uid, netnsFd);
        pods.set(uid, { netnsFd, servers });
        say({ event: 'retried', uid, addresses });
      }, Number(args.get('retry-ms') ?? 5000));
      pending.set(uid, { netnsFd, timer });
      ack('failure to start proxy: the test proxy fails its first start of this pod');
      say({ event: 'failed', uid });
      return;
    }
    const netnsInode = String(fstatSync(netnsFd, { bigint: true }).ino);
    const existing = pods.get(uid);
    if (existing && String(fstatSync(existing.netnsFd, { bigint: true }).ino) === netnsInode) {
      closeSync(netnsFd);
      say({ event: 'add', uid, netnsInode, again: true, fds: fds.length });
      ack();
      return;
    }
    dropPod(uid);
    const delay = Number(args.get('listen-delay') ?? 0);
    if (delay > 0) {
      ack();
      setTimeout(() => {
        const { servers, addresses } = openListeners(uid, netnsFd);
        pods.set(uid, { netnsFd, servers });
        say({ event: 'add', uid, netnsInode, addresses, port, fds: fds.length, delayed: delay });
      }, delay);
      return;
    }
    const { servers, addresses } = openListeners(uid, netnsFd);
    pods.set(uid, { netnsFd, servers });
    say({ event: 'add', uid, name: req.add!.workload_info?.name, netnsInode, addresses, port, fds: fds.length, listeners: servers.length });
    if (registerPath) {
      servers.reduce((p, server) => p.then(() => register(uid, server)), Promise.resolve()).then(() => ack(), (err) => {
        say({ event: 'register-failed', uid, error: String(err) });
        ack();
      });
      return;
    }
    ack();
    return;
  }
  for (const fd of fds) closeSync(fd);
  if (req.payload === 'del') {
    dropPod(req.del!.uid);
    say({ event: 'del', uid: req.del!.uid });
  } else if (req.payload === 'keep') {
    named.add(req.keep!.uid);
    say({ event: 'keep', uid: req.keep!.uid, known: pods.has(req.keep!.uid) });
  } else if (req.payload === 'snapshot_sent') {
    const dropped = [...pods.keys()].filter((uid) => !named.has(uid));
    for (const uid of dropped) dropPod(uid);
    say({ event: 'snapshot', dropped, pods: [...pods.keys()].sort() });
  } else {
    say({ event: 'empty-request' });
  }
  ack();
}

function connect(): void {
  let socket: SeqpacketSocket;
  try {
    socket = SeqpacketSocket.connect(zdsPath);
  } catch (err) {
    say({ event: 'connect-failed', error: String(err) });
    setTimeout(connect, 100);
    return;
  }
  named = new Set();
  socket.start({
    message: ({ payload, fds }) => handle(socket, payload, fds),
    end: () => {
      say({ event: 'disconnected' });
      setTimeout(connect, 100);
    },
  });
  void socket.send(codec.encodeHello({ version: 'V1' })).then(() => say({ event: 'hello-sent' }));
}

interface DialCommand {
  readonly id: number;
  readonly dial: { readonly uid: string; readonly host: string; readonly port: number; readonly bind?: string; readonly mark?: number };
}

function dial(command: DialCommand): void {
  const { id, dial: d } = command;
  const pod = pods.get(d.uid);
  if (!pod) {
    say({ event: 'dialed', id, ok: false, error: `unknown pod ${d.uid}` });
    return;
  }
  // the proxy's own outbound connection: SO_MARK must be set before connect(), which Node's net
  // cannot do, so netlab's marked TCP client does it (a child: same cgroup, entering the pod's netns)
  void tcpClient({ netns: `/proc/${process.pid}/fd/${pod.netnsFd}`, host: d.host, port: d.port, mark: d.mark ?? mark, ...(d.bind && { bind: d.bind }) }).then((r) =>
    say(r.ok ? { event: 'dialed', id, ok: true, reply: (r.reply ?? '').trim() } : { event: 'dialed', id, ok: false, error: r.error }),
  );
}

createInterface({ input: process.stdin }).on('line', (line) => {
  try {
    dial(JSON.parse(line) as DialCommand);
  } catch (err) {
    say({ event: 'bad-command', error: String(err) });
  }
});

process.on('SIGTERM', () => process.exit(0));
connect();
