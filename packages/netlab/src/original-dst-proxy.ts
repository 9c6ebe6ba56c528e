/**
 * An unmodified transparent proxy behind a connect redirect (seed 001's local listener), run as a
 * python3 child inside a netns and cgroup: it listens on 127.0.0.1:PORT and [::1]:PORT (default
 * 18000) and answers each connection with `orig <address> <port>`, the original destination it
 * asks the kernel for with getsockopt(SOL_IP, SO_ORIGINAL_DST) / getsockopt(SOL_IPV6,
 * IP6T_SO_ORIGINAL_DST), as proxies behind iptables REDIRECT do (`orig none <reason>` when the
 * kernel has no answer), then closes it.
 */
import { type ChildProcess } from 'node:child_process';
import { spawnIn, untilLine } from './spawn-in.js';

const PROXY = String.raw`
import select, socket, struct, sys
SO_ORIGINAL_DST = 80
port = int(sys.argv[1])
ls = []
for fam, host in ((socket.AF_INET, '127.0.0.1'), (socket.AF_INET6, '::1')):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((host, port))
    s.listen(64)
    ls.append(s)
print('ready', flush=True)
while True:
    r, _, _ = select.select(ls, [], [])
    for l in r:
        c, _ = l.accept()
        try:
            c.settimeout(3)
            try:
                if l.family == socket.AF_INET:
                    raw = c.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
                    addr = socket.inet_ntop(socket.AF_INET, raw[4:8])
                else:
                    raw = c.getsockopt(socket.IPPROTO_IPV6, SO_ORIGINAL_DST, 28)
                    addr = socket.inet_ntop(socket.AF_INET6, raw[8:24])
                reply = 'orig %s %d' % (addr, struct.unpack('!H', raw[2:4])[0])
            except OSError as e:
                reply = 'orig none %s' % e.strerror
            try:
                c.recv(4096)
            except Exception:
                pass
            c.sendall(reply.encode())
        except Exception:
            pass
        finally:
            c.close()
`;

export interface OriginalDstProxyOptions {
  /** absolute cgroup directory the proxy runs in (where a getsockopt hook answers it) */
  readonly cgroup?: string;
  /** default 18000 */
  readonly port?: number;
}

export interface OriginalDstProxy {
  readonly port: number;
  /** stops it; resolves once it exited */
  close(): Promise<void>;
}

export async function startOriginalDstProxy(netnsPath: string, options: OriginalDstProxyOptions = {}): Promise<OriginalDstProxy> {
  const port = options.port ?? 18000;
  const child: ChildProcess = spawnIn(netnsPath, ['python3', '-c', PROXY, String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.cgroup && { cgroup: options.cgroup }),
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      untilLine(child, 'ready'),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`original-destination proxy in ${netnsPath} not ready`)), 10_000))),
    ]);
  } catch (err) {
    await close();
    throw new Error(`${(err as Error).message}: ${stderr.trim()}`);
  } finally {
    clearTimeout(timer);
  }
  return { port, close };
}
