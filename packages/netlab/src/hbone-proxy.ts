/**
 * A ztunnel-like mesh proxy for a pod netns, run as a python3 child (Node cannot set SO_MARK): a
 * dual-stack HBONE-like listener on [::]:15008 (by default) that answers each connection with
 * `hbone <local address> <local port> from <peer address>` (the local address is the original
 * destination when the connection was diverted to it: sk_lookup keeps it), and the proxy's own
 * outbound connections, made with the socket mark ztunnel sets on every socket it opens in a pod
 * (0x539 by default) by a marked TCP client (tcpClient) in the proxy's netns and cgroup. Its pid
 * and the listener's fd number are given so that the agent side can take a duplicate
 * (pidfd_getfd), as the istiod source's listener discovery does.
 */
import { type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { tcpClient, type TcpClientResult } from './marked-tcp-client.js';
import { spawnIn } from './spawn-in.js';

const PROXY = String.raw`
import json, os, socket, sys, threading
port, mark = int(sys.argv[1]), int(sys.argv[2])
SO_MARK = 36
def marked(s):
    if mark:
        s.setsockopt(socket.SOL_SOCKET, SO_MARK, mark)
    return s
ls = marked(socket.socket(socket.AF_INET6, socket.SOCK_STREAM))
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
ls.bind(('::', port))
ls.listen(64)
def plain(a):
    return a[7:] if a.startswith('::ffff:') else a
def answer(c, peer):
    try:
        c.settimeout(3)
        try:
            c.recv(4096)
        except Exception:
            pass
        a = c.getsockname()
        c.sendall(('hbone %s %d from %s' % (plain(a[0]), a[1], plain(peer[0]))).encode())
    except Exception:
        pass
    finally:
        c.close()
def serve():
    while True:
        c, peer = ls.accept()
        threading.Thread(target=answer, args=(c, peer), daemon=True).start()
threading.Thread(target=serve, daemon=True).start()
print(json.dumps({'pid': os.getpid(), 'fd': ls.fileno()}), flush=True)
sys.stdin.read()
`;

export interface HboneProxyOptions {
  /** absolute cgroup directory the proxy runs in (from its start: every socket it opens is charged there) */
  readonly cgroup?: string;
  /** the listener's port (default 15008) */
  readonly port?: number;
  /** the mark of the proxy's sockets (default 0x539, ztunnel's in-pod mark; 0: none) */
  readonly mark?: number;
}

export interface HboneDial {
  readonly host: string;
  readonly port: number;
  /** local address to bind first (ztunnel connects to the application from the client's address or the pod's) */
  readonly bind?: string;
  /** this connection's socket mark; default the proxy's mark, 0: none */
  readonly mark?: number;
  readonly payload?: string;
}

export interface HboneProxy {
  /** the proxy's pid */
  readonly pid: number;
  /** the listener's fd number in the proxy (for pidfd_getfd) */
  readonly listenerFd: number;
  /** a connection of the proxy's own (its netns, cgroup and mark); resolves with its result (never rejects once started) */
  dial(o: HboneDial): Promise<TcpClientResult>;
  /** stops the proxy; resolves once it exited (its sockets are closed then) */
  close(): Promise<void>;
}

/** Starts the proxy inside `netnsPath` (e.g. /var/run/netns/NAME); resolves once it listens. */
export async function startHboneProxy(netnsPath: string, options: HboneProxyOptions = {}): Promise<HboneProxy> {
  const mark = options.mark ?? 0x539;
  const child: ChildProcess = spawnIn(netnsPath, ['python3', '-c', PROXY, String(options.port ?? 15008), String(mark)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(options.cgroup && { cgroup: options.cgroup }),
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout! });
  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  try {
    const first = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`hbone proxy in ${netnsPath} not ready: ${stderr}`)), 10_000);
      lines.once('line', (line) => {
        clearTimeout(timer);
        resolve(line);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`hbone proxy in ${netnsPath} exited (${code}) before it listened: ${stderr.trim()}`));
      });
    });
    const { pid, fd } = JSON.parse(first) as { pid: number; fd: number };
    return {
      pid,
      listenerFd: fd,
      dial: async (o) => {
        if (child.exitCode !== null || child.signalCode !== null) return { ok: false, error: `the proxy exited: ${stderr.trim()}` };
        return tcpClient({
          netns: netnsPath,
          host: o.host,
          port: o.port,
          mark: o.mark ?? mark,
          ...(o.bind && { bind: o.bind }),
          ...(o.payload !== undefined && { payload: o.payload }),
          ...(options.cgroup && { cgroup: options.cgroup }),
        });
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
