/**
 * A stand-in for systemd's notify socket in tests: a datagram unix socket bound at a path, or at
 * "@name" in the abstract namespace, as $NOTIFY_SOCKET names them, that hands back each message
 * received (a python3 process: node has no unix datagram sockets).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const RECEIVER = String.raw`
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
addr = sys.argv[1]
s.bind('\0' + addr[1:] if addr.startswith('@') else addr)
print(json.dumps('listening'), flush=True)
while True:
    print(json.dumps(s.recv(65536).decode()), flush=True)
`;

export interface NotifyReceiver {
  /** the next message, or undefined after `timeoutMs` */
  next(timeoutMs?: number): Promise<string | undefined>;
  close(): void;
}

/** Binds `address` (a path, or "@name") and resolves once it receives. */
export async function startNotifyReceiver(address: string): Promise<NotifyReceiver> {
  const child = spawn('python3', ['-c', RECEIVER, address], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const queue: string[] = [];
  const waiting: ((m: string) => void)[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const message = JSON.parse(line) as string;
    const wake = waiting.shift();
    if (wake) wake(message);
    else queue.push(message);
  });
  const next = (timeoutMs = 5000): Promise<string | undefined> => {
    const queued = queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        waiting.splice(waiting.indexOf(wake), 1);
        resolve(undefined);
      }, timeoutMs);
      const wake = (m: string): void => {
        clearTimeout(timer);
        resolve(m);
      };
      waiting.push(wake);
    });
  };
  const close = (): void => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
  if ((await next()) !== 'listening') {
    close();
    throw new Error(`notify receiver at ${address} did not start: ${stderr.trim()}`);
  }
  return { next, close };
}
