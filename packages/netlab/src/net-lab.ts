import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { CLIENT_SCRIPT, SERVER_SCRIPT } from './probe-scripts.js';
import { run, tryRun, type CommandResult } from './run-command.js';

export type Protocol = 'tcp' | 'udp';

export interface VethEnd {
  /** netns name created by this lab (or undefined for the caller's own netns) */
  readonly netns?: string;
  readonly ifname: string;
  /** CIDR addresses to add, IPv4 or IPv6 ("10.0.0.1/24", "fd00::1/64") */
  readonly addresses?: readonly string[];
}

export interface ExchangeResult {
  readonly ok: boolean;
  readonly reply?: string;
  readonly error?: string;
}

export interface Listener {
  readonly port: number;
  close(): void;
}

const NETNS_DIR = '/var/run/netns';
const live = new Set<NetLab>();
let exitHookInstalled = false;

/**
 * A throw-away lab of network namespaces. Every name it creates starts with its unique id
 * (`<prefix>-<pid>-<random>`), and `destroy()` removes exactly what it created — also from a process
 * 'exit' hook if the caller forgot.
 */
export class NetLab implements AsyncDisposable {
  readonly id: string;
  readonly #netns: string[] = [];
  readonly #children = new Set<ChildProcess>();
  #destroyed = false;

  private constructor(prefix: string) {
    this.id = `${prefix}-${process.pid}-${randomBytes(2).toString('hex')}`;
  }

  static create(prefix = 'bst'): NetLab {
    if (!/^[a-z][a-z0-9]{0,5}$/.test(prefix)) {
      throw new Error(`netlab prefix "${prefix}" must be 1-6 lower-case letters/digits starting with a letter`);
    }
    const lab = new NetLab(prefix);
    live.add(lab);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', () => {
        for (const l of live) l.destroySync();
      });
    }
    return lab;
  }

  /** Creates netns `<id>-<short>` with lo up; returns its full name. */
  addNetns(short: string): string {
    const name = `${this.id}-${short}`;
    run(['ip', 'netns', 'add', name]);
    this.#netns.push(name);
    run(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
    // throw-away labs need no duplicate address detection: addresses would stay tentative for ~2 s
    // (link-local ones block neighbour discovery meanwhile)
    this.sysctl(name, 'net.ipv6.conf.default.accept_dad', 0);
    this.sysctl(name, 'net.ipv6.conf.all.accept_dad', 0);
    return name;
  }

  /** Path of a netns by name, for nsenter and for setns(). */
  nsPath(netns: string): string {
    return `${NETNS_DIR}/${netns}`;
  }

  /** argv prefix that runs a command in a netns without hiding bpffs (unlike `ip netns exec`). */
  nsenter(netns: string | undefined): string[] {
    return netns ? ['nsenter', `--net=${this.nsPath(netns)}`, '--'] : [];
  }

  /** Runs a command inside a netns; returns stdout, throws on a non-zero exit. */
  sh(netns: string | undefined, argv: readonly string[]): string {
    return run([...this.nsenter(netns), ...argv]);
  }

  trySh(netns: string | undefined, argv: readonly string[]): CommandResult {
    return tryRun([...this.nsenter(netns), ...argv]);
  }

  /** `ip` inside a netns, e.g. lab.ip(ns, 'route', 'add', 'default', 'via', '10.0.0.1'). */
  ip(netns: string | undefined, ...args: string[]): string {
    return run(['ip', ...(netns ? ['-n', netns] : []), ...args]);
  }

  sysctl(netns: string | undefined, key: string, value: string | number): void {
    this.sh(netns, ['sysctl', '-q', '-w', `${key}=${value}`]);
  }

  /** Creates a veth pair between two netns, adds the addresses and brings both ends up. */
  addVeth(a: VethEnd, b: VethEnd): void {
    const tmpA = `v${randomBytes(5).toString('hex')}`;
    const tmpB = `v${randomBytes(5).toString('hex')}`;
    run(['ip', 'link', 'add', tmpA, 'type', 'veth', 'peer', 'name', tmpB]);
    for (const [tmp, end] of [[tmpA, a], [tmpB, b]] as const) {
      if (end.netns) run(['ip', 'link', 'set', tmp, 'netns', end.netns]);
      this.ip(end.netns, 'link', 'set', tmp, 'name', end.ifname);
      for (const addr of end.addresses ?? []) {
        this.ip(end.netns, 'addr', 'add', addr, 'dev', end.ifname, ...(addr.includes(':') ? ['nodad'] : []));
      }
      this.ip(end.netns, 'link', 'set', end.ifname, 'up');
    }
  }

  /** ifindex of an interface inside a netns. */
  ifIndex(netns: string | undefined, ifname: string): number {
    const out = this.ip(netns, '-o', 'link', 'show', 'dev', ifname);
    return Number(out.split(':')[0]);
  }

  /** Starts a long-running process inside a netns; it is killed by destroy(). */
  spawn(netns: string | undefined, argv: readonly string[]): ChildProcess {
    const full = [...this.nsenter(netns), ...argv];
    const child = spawn(full[0], full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    return child;
  }

  /** Starts an echo server ("echo:<data>") on host:port (port 0 = any) inside a netns. */
  async listen(netns: string | undefined, proto: Protocol, host: string, port = 0): Promise<Listener> {
    const child = this.spawn(netns, [process.execPath, '-e', SERVER_SCRIPT, proto, host, String(port)]);
    const lines = createInterface({ input: child.stdout! });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const readyPort = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`listener ${proto} ${host}:${port} not ready: ${stderr}`)), 10_000);
      lines.once('line', (line) => {
        clearTimeout(timer);
        resolve(JSON.parse(line).port as number);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`listener ${proto} ${host}:${port} exited ${code}: ${stderr.trim()}`));
      });
    });
    return { port: readyPort, close: () => child.kill('SIGTERM') };
  }

  /** Sends `payload` to host:port from inside a netns and waits for the echo. Never throws. */
  async exchange(
    netns: string | undefined,
    proto: Protocol,
    host: string,
    port: number,
    opts: { payload?: string; timeoutMs?: number; localAddress?: string } = {},
  ): Promise<ExchangeResult> {
    const payload = opts.payload ?? `hello-${randomBytes(3).toString('hex')}`;
    const timeoutMs = opts.timeoutMs ?? 2000;
    const argv = [process.execPath, '-e', CLIENT_SCRIPT, proto, host, String(port), payload, String(timeoutMs)];
    if (opts.localAddress) argv.push(opts.localAddress);
    const child = this.spawn(netns, argv);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      return JSON.parse(out.trim().split('\n').pop() ?? '') as ExchangeResult;
    } catch {
      return { ok: false, error: `client exited ${code} without a result` };
    }
  }

  /** One ICMP echo (IPv4 or IPv6) from a netns; true if answered. */
  ping(netns: string | undefined, address: string, opts: { timeoutSec?: number; count?: number } = {}): boolean {
    const argv = ['ping', '-n', '-q', '-c', String(opts.count ?? 1), '-W', String(opts.timeoutSec ?? 1), address];
    return this.trySh(netns, argv).status === 0;
  }

  /** Kills what it started and deletes the netns it created. Idempotent. */
  async destroy(): Promise<void> {
    this.destroySync();
  }

  destroySync(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const child of this.#children) child.kill('SIGKILL');
    this.#children.clear();
    for (const name of this.#netns.reverse()) tryRun(['ip', 'netns', 'del', name]);
    live.delete(this);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }
}
