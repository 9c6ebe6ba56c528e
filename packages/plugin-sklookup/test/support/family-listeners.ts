/**
 * Test-only: a proxy with SEPARATE IPv4-only and IPv6-only HBONE listeners (0.0.0.0:PORT and a
 * v6-only [::]:PORT) inside a netns, run as a python3 child (Node cannot bind an IPv4-only
 * listener synchronously inside another netns). Each accepted connection is answered
 * "v4|v6 <local address> <local port>" and closed. This process takes its own duplicates of both
 * listeners with pidfd_getfd, like the istiod source's discovery does.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { duplicateFdFromProcess } from '@bpfsteer/core-bpf';

const PROXY = String.raw`
import json, os, socket, sys, threading
port = int(sys.argv[1])
def serve(s, tag):
    while True:
        c, _ = s.accept()
        try:
            c.settimeout(3)
            try:
                c.recv(64)
            except Exception:
                pass
            a = c.getsockname()
            c.sendall(('%s %s %d' % (tag, a[0], a[1])).encode())
        except Exception:
            pass
        finally:
            c.close()
s4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s4.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s4.bind(('0.0.0.0', port))
s4.listen(64)
s6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s6.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s6.bind(('::', port))
s6.listen(64)
for s, tag in ((s4, 'v4'), (s6, 'v6')):
    threading.Thread(target=serve, args=(s, tag), daemon=True).start()
print(json.dumps({'pid': os.getpid(), 'v4': s4.fileno(), 'v6': s6.fileno()}), flush=True)
sys.stdin.read()
`;

export interface FamilyListeners {
  /** this process's duplicate of the IPv4-only listener */
  readonly v4Fd: number;
  /** this process's duplicate of the IPv6-only listener */
  readonly v6Fd: number;
  /** stops the proxy and closes the duplicates */
  close(): Promise<void>;
}

export async function startFamilyListeners(netnsPath: string, port: number): Promise<FamilyListeners> {
  const child: ChildProcess = spawn('nsenter', [`--net=${netnsPath}`, '--', 'python3', '-c', PROXY, String(port)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`family listeners exited (${code}): ${stderr}`)));
  });
  const { pid, v4, v6 } = JSON.parse(first) as { pid: number; v4: number; v6: number };
  const v4Fd = duplicateFdFromProcess(pid, v4);
  const v6Fd = duplicateFdFromProcess(pid, v6);
  return {
    v4Fd,
    v6Fd,
    async close() {
      for (const fd of [v4Fd, v6Fd]) {
        try {
          closeSync(fd);
        } catch {
          // closed already
        }
      }
      child.stdin!.end();
      child.kill('SIGKILL');
      await exited;
    },
  };
}
