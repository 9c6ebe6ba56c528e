/**
 * Throw-away network labs for the kernel tests: uniquely named netns (pid + random suffix), veth
 * pairs, addresses; everything created is recorded and removed by cleanup(), also after failures.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function unique(prefix: string): string {
  return `${prefix}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

export class Lab {
  readonly netns: string[] = [];
  readonly pins: string[] = [];
  readonly cgroups: string[] = [];

  addNetns(prefix = 'cbt'): string {
    const name = unique(prefix);
    run('ip', ['netns', 'add', name]);
    this.netns.push(name);
    run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    return name;
  }

  /** veth `a` in netns `nsA` with addrA, peer `b` in `nsB` with addrB (CIDR), both up. */
  veth(nsA: string, a: string, addrA: string, nsB: string, b: string, addrB: string): void {
    run('ip', ['-n', nsA, 'link', 'add', a, 'type', 'veth', 'peer', 'name', b, 'netns', nsB]);
    run('ip', ['-n', nsA, 'addr', 'add', addrA, 'dev', a]);
    run('ip', ['-n', nsB, 'addr', 'add', addrB, 'dev', b]);
    run('ip', ['-n', nsA, 'link', 'set', a, 'up']);
    run('ip', ['-n', nsB, 'link', 'set', b, 'up']);
  }

  /** A unique pin path under /sys/fs/bpf, removed at cleanup if still there. */
  pinPath(prefix = 'cbt'): string {
    const p = `/sys/fs/bpf/${unique(prefix)}`;
    this.pins.push(p);
    return p;
  }

  /** Remove everything recorded, each step even when an earlier one failed; reports what stayed. */
  cleanup(): void {
    const failed: string[] = [];
    const attempt = (what: string, fn: () => void) => {
      try {
        fn();
      } catch (err) {
        failed.push(`${what}: ${String(err)}`);
      }
    };
    for (const p of this.pins.splice(0)) attempt(`pin ${p}`, () => rmSync(p, { force: true }));
    for (const cg of this.cgroups.splice(0).reverse()) attempt(`cgroup ${cg}`, () => run('rmdir', [cg]));
    for (const ns of this.netns.splice(0)) attempt(`netns ${ns}`, () => run('ip', ['netns', 'del', ns]));
    if (failed.length > 0) throw new Error(`lab cleanup left: ${failed.join('; ')}`);
  }
}

/** ping from inside `ns`; returns the number of replies received. */
export function ping(ns: string, addr: string, count: number): number {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'ping', '-n', '-q', '-c', String(count), '-i', '0.2', '-W', '1', addr], { encoding: 'utf8' });
  const m = /(\d+) received/.exec(r.stdout);
  return m ? Number(m[1]) : 0;
}

const ECHO_SERVER = `
const net = require('node:net');
const [host, port] = process.argv.slice(1);
const srv = net.createServer((s) => { s.on('data', (d) => s.end(d)); s.on('close', () => srv.close()); });
srv.listen(Number(port), host, () => process.stdout.write('ready\\n'));
setTimeout(() => process.exit(3), 20000).unref();
`;
const ECHO_CLIENT = `
const net = require('node:net');
const [host, port, text] = process.argv.slice(1);
const s = net.connect(Number(port), host);
let got = '';
s.on('data', (d) => { got += d; });
s.on('end', () => { process.stdout.write(got); process.exit(0); });
s.on('error', (e) => { process.stderr.write(String(e)); process.exit(2); });
s.write(text);
setTimeout(() => process.exit(4), 10000).unref();
`;

/** A plain-JS node process inside `ns` (ip netns exec: fine, bpffs not needed). */
export function nodeIn(ns: string | undefined, code: string, args: string[]): ChildProcess {
  const argv = ['-e', code, ...args];
  return ns === undefined
    ? spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn('ip', ['netns', 'exec', ns, process.execPath, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
}

export function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 10000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`timeout waiting for ${pattern}; stdout=${buf} stderr=${err}`)), timeoutMs);
    child.stderr?.on('data', (d) => {
      err += d;
    });
    child.stdout?.on('data', (d) => {
      buf += d;
      const line = buf.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited (${code}) before ${pattern}; stdout=${buf} stderr=${err}`));
    });
  });
}

export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.on('exit', (code) => resolve(code));
  });
}

/** One TCP echo round trip: server in `serverNs` on host:port, client in `clientNs`. Returns the echo. */
export async function tcpEcho(serverNs: string, clientNs: string, host: string, port: number, text: string): Promise<string> {
  const server = nodeIn(serverNs, ECHO_SERVER, [host === '0.0.0.0' ? host : host, String(port)]);
  try {
    await waitForLine(server, /ready/);
    const r = spawnSync('ip', ['netns', 'exec', clientNs, process.execPath, '-e', ECHO_CLIENT, host, String(port), text], {
      encoding: 'utf8',
      timeout: 15000,
    });
    if (r.status !== 0) throw new Error(`tcp client failed (${r.status}): ${r.stderr}`);
    return r.stdout;
  } finally {
    server.kill();
    await exited(server);
  }
}

/** A plain TCP client from inside `ns`; resolves with the echoed text. */
export function tcpClient(ns: string | undefined, host: string, port: number, text: string): string {
  const argv = ['-e', ECHO_CLIENT, host, String(port), text];
  const r =
    ns === undefined
      ? spawnSync(process.execPath, argv, { encoding: 'utf8', timeout: 15000 })
      : spawnSync('ip', ['netns', 'exec', ns, process.execPath, ...argv], { encoding: 'utf8', timeout: 15000 });
  if (r.status !== 0) throw new Error(`tcp client failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

const HOOKS = fileURLToPath(new URL('./ts-hooks.mjs', import.meta.url));
export const CHILDREN_DIR = fileURLToPath(new URL('./children/', import.meta.url));

/** Spawn `node` on one of test/support/children/*.ts (core-bpf sources run directly, types stripped). */
export function tsChild(script: string, args: string[], opts: { stdio?: Array<'pipe' | 'inherit' | 'ignore' | number> } = {}): ChildProcess {
  return spawn(process.execPath, ['--no-warnings', '--import', HOOKS, `${CHILDREN_DIR}${script}`, ...args], {
    stdio: opts.stdio ?? ['pipe', 'pipe', 'pipe'],
  });
}

/** Number of open fds of this process. */
export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

export { execFileSync, existsSync };
