/**
 * A TCP client run as a child process inside a netns (python3), optionally inside a cgroup and with
 * SO_MARK on its socket before it connects (what the mesh proxy does), which Node's `net` cannot
 * set. It sends a payload, half-closes, and prints {ok, reply, local: [address, port]}.
 */
import { spawn } from 'node:child_process';

const CLIENT = String.raw`
import json, socket, sys
host, port, mark, bind, bind_port, payload = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), sys.argv[6]
s = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(3)
try:
    if mark:
        s.setsockopt(socket.SOL_SOCKET, 36, mark)  # SO_MARK
    if bind:
        s.bind((bind, bind_port))
    s.connect((host, port))
    local = s.getsockname()
    s.sendall(payload.encode())
    s.shutdown(socket.SHUT_WR)
    data = b''
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    print(json.dumps({'ok': True, 'reply': data.decode(), 'local': [local[0], local[1]]}))
except Exception as e:
    print(json.dumps({'ok': False, 'error': type(e).__name__ + ': ' + str(e)}))
`;

export interface TcpClientOptions {
  /** netns path (e.g. /var/run/netns/NAME) */
  readonly netns: string;
  readonly host: string;
  readonly port: number;
  /** SO_MARK set before connect (0: none) */
  readonly mark?: number;
  /** local address to bind before connect */
  readonly bind?: string;
  /** local port to bind (with bind; default any) */
  readonly bindPort?: number;
  /** absolute cgroup directory the client runs in (it moves itself there before it starts) */
  readonly cgroup?: string;
  readonly payload?: string;
}

export interface TcpClientResult {
  readonly ok: boolean;
  readonly reply?: string;
  readonly error?: string;
  /** the client's own address and port */
  readonly local?: [string, number];
}

export async function tcpClient(o: TcpClientOptions): Promise<TcpClientResult> {
  const argv = ['nsenter', `--net=${o.netns}`, '--', 'python3', '-c', CLIENT, o.host, String(o.port), String(o.mark ?? 0), o.bind ?? '', String(o.bindPort ?? 0), o.payload ?? 'hi'];
  // the shell moves itself into the cgroup, then becomes the client: every socket it opens is charged there
  const child = o.cgroup
    ? spawn('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', o.cgroup, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  try {
    return JSON.parse(out.trim().split('\n').pop() ?? '') as TcpClientResult;
  } catch {
    return { ok: false, error: `client exited ${code}: ${err.trim()}` };
  }
}
