/**
 * A TCP connection from inside a lab netns that stays open while the test does other things: opened
 * at once, then each send() writes a line and resolves with what comes back (the ziti-like listener
 * answers the first line of a connection and closes it).
 */
import type { NetLab } from '@bpfsteer/netlab';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const SCRIPT = String.raw`
const net = require('node:net');
const [host, port] = process.argv.slice(1);
let buf = '';
const s = net.connect({ host, port: Number(port) }, () => console.log(JSON.stringify({ connected: true })));
s.on('data', (d) => { buf += d; });
s.on('end', () => console.log(JSON.stringify({ reply: buf })));
s.on('error', (e) => console.log(JSON.stringify({ error: e.code || e.message })));
require('node:readline').createInterface({ input: process.stdin }).on('line', (l) => s.write(l + '\n'));
`;

export interface HeldConnection {
  /** resolves once connected (rejects on an error or after timeoutMs) */
  readonly connected: Promise<void>;
  /** writes `line` and resolves with the text received until the peer closed */
  send(line: string, timeoutMs?: number): Promise<string>;
  close(): void;
}

export function holdConnection(lab: NetLab, netns: string, host: string, port: number, timeoutMs = 3000): HeldConnection {
  const child = spawn('nsenter', [`--net=${lab.nsPath(netns)}`, '--', process.execPath, '-e', SCRIPT, host, String(port)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const messages: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    messages.push(JSON.parse(line));
    for (const w of waiters.splice(0)) w();
  });
  const next = (key: string, ms: number) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`held connection to ${host}:${port}: no ${key} after ${ms} ms`)), ms);
      const check = () => {
        const m = messages.find((x) => key in x || 'error' in x);
        if (!m) return void waiters.push(check);
        clearTimeout(timer);
        messages.splice(messages.indexOf(m), 1);
        if ('error' in m) reject(new Error(`held connection to ${host}:${port}: ${String(m.error)}`));
        else resolve(m);
      };
      check();
    });
  return {
    connected: next('connected', timeoutMs).then(() => undefined),
    async send(line: string, ms = 3000) {
      child.stdin!.write(`${line}\n`);
      return String((await next('reply', ms)).reply);
    },
    close: () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
