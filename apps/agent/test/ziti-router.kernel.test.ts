/**
 * An OpenZiti router's view, end to end: the built `bpfsteer run` with only the tc-tproxy plugin
 * and the ziti source (on a router netns veth), driven by the built native `bpfsteer-diverter`
 * client (what the router runs; source-ziti's native/bpfsteer-diverter.c) with the exact argument
 * vectors a ziti router uses (and the old `map_update` / `map_delete` forms), run directly as the
 * router runs it (openziti/ziti tunnel/intercept/tproxy/tproxy_linux.go: exec, exit status judged),
 * real TCP/UDP from a client netns to a ziti-like tproxy listener, a router that starts before the
 * agent, and agent restarts under a running diverted connection.
 * The lab (netns, veth, routes, the ziti-like listener, an echo server) is built once per file; each
 * test runs its own agent with its own pin root, state file and sockets, so any test runs alone.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { arch, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { adminRequest } from '@bpfsteer/agent-kernel';
import { NetLab, startNotifyReceiver, startRouterStandIn, startZitiListener, testTimeScale, type RouterStandIn, type ZitiListener } from '@bpfsteer/netlab';
import { request as httpRequest } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { parse, stringify } from 'yaml';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { spawnBpfsteer, type SpawnedBpfsteer } from './support/spawn-bpfsteer.js';

const sourceZitiDist = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'packages', 'source-ziti', 'dist');
const diverterJs = join(sourceZitiDist, 'diverter.js');
const nativeDiverter = join(sourceZitiDist, 'native', `linux-${arch()}`, 'bpfsteer-diverter');

const lab = NetLab.create('zti');
const children: ChildProcess[] = [];
let client: string;
let router: string;
let dir: string;
let pinRoot: string;
let zitiSocket: string;
let ziti: ZitiListener;
let echoPort: number;
let tests = 0;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the native diverter under `name` (bpfsteer-diverter, map_update, map_delete) with `args`;
 * `node`: this package's Node CLI (dist/diverter.js) instead.
 */
function diverter(args: string[], name = 'bpfsteer-diverter', { node = false } = {}): Promise<Run> {
  const env = { ...process.env, BPFSTEER_ZITI_SOCKET: zitiSocket, BPFSTEER_ZITI_SPOOL: join(dir, 'ziti-spool'), BPFSTEER_DIVERTER_CONF: '/dev/null' };
  // the native client runs where the router runs, in the router's netns (it reports the listeners there with a delete)
  const child = node
    ? spawn(process.execPath, [diverterJs, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env })
    : spawn('nsenter', [`--net=${lab.nsPath(router)}`, '--', join(dir, name), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** The router's process in its netns (netlab's stand-in): it runs the native diverter one call after another. */
function startRouterProcess(): RouterStandIn {
  const env = { ...process.env, BPFSTEER_ZITI_SOCKET: zitiSocket, BPFSTEER_ZITI_SPOOL: join(dir, 'ziti-spool'), BPFSTEER_DIVERTER_CONF: '/dev/null' };
  return startRouterStandIn({ diverter: join(dir, 'bpfsteer-diverter'), env, netns: lab.nsPath(router) });
}

/** The router's insert call for one interface list (the router adds `-N <if>` once per interface). */
const insert = (c: string, m: number, p: 'tcp' | 'udp', low: number, high: number, t: number, ifname?: string) => [
  '-I', '-c', c, '-m', String(m), '-p', p, '-o', '0.0.0.0', '-n', '0', '-l', String(low), '-h', String(high),
  '-t', String(t), '-s', 'svc-e2e', ...(ifname ? ['-N', ifname] : []),
];
const remove = (c: string, m: number, p: 'tcp' | 'udp', low: number, high: number) => [
  '-D', '-c', c, '-m', String(m), '-p', p, '-o', '0.0.0.0', '-n', '0', '-l', String(low), '-h', String(high),
];

/** The original destination the ziti-like listener saw, or the client's error. */
async function divertedTo(proto: 'tcp' | 'udp', host: string, port: number, timeoutMs = 1500): Promise<string> {
  const r = await lab.exchange(client, proto, host, port, { payload: 'probe', timeoutMs });
  return r.reply?.match(/^orig=(\S+) /)?.[1] ?? r.error ?? String(r.reply);
}

/** A line-echo server on 127.0.0.1 in the router netns that keeps its connections open. */
const ECHO_SERVER = String.raw`
const net = require('node:net');
const srv = net.createServer((s) => {
  require('node:readline').createInterface({ input: s }).on('line', (l) => s.write('echo ' + s.localAddress + ':' + s.localPort + ' ' + l + '\n'));
  s.on('error', () => {});
});
srv.listen({ host: '127.0.0.1', port: 0 }, () => console.log(JSON.stringify({ port: srv.address().port })));
`;

/** One TCP connection from the client netns kept open: each send() writes a line and reads one back. */
const HOLD_CLIENT = String.raw`
const net = require('node:net');
const [host, port] = process.argv.slice(1);
const s = net.connect({ host, port: Number(port) }, () => console.log(JSON.stringify({ connected: true })));
require('node:readline').createInterface({ input: s }).on('line', (l) => console.log(JSON.stringify({ line: l })));
s.on('error', (e) => console.log(JSON.stringify({ error: e.code || e.message })));
s.on('close', () => console.log(JSON.stringify({ error: 'closed' })));
require('node:readline').createInterface({ input: process.stdin }).on('line', (l) => s.write(l + '\n'));
`;

function holdConnection(host: string, port: number) {
  const child = spawn('nsenter', [`--net=${lab.nsPath(client)}`, '--', process.execPath, '-e', HOLD_CLIENT, host, String(port)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  const queue: Record<string, unknown>[] = [];
  let wake: (() => void) | undefined;
  createInterface({ input: child.stdout! }).on('line', (l) => {
    queue.push(JSON.parse(l));
    wake?.();
  });
  const next = async (ms: number): Promise<Record<string, unknown>> => {
    const until = Date.now() + ms;
    while (queue.length === 0) {
      if (Date.now() > until) return { error: 'timeout' };
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 50);
      });
    }
    return queue.shift()!;
  };
  return {
    connected: next(3000),
    async send(line: string): Promise<string> {
      child.stdin!.write(`${line}\n`);
      const m = await next(3000);
      return typeof m.line === 'string' ? m.line : `error: ${String(m.error)}`;
    },
  };
}

/** The sum of the series `name{labels...}` (each with at least these labels) in a text exposition; undefined when there is none. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const got = Object.fromEntries([...(match[2] ?? '').matchAll(/([a-zA-Z_]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) sum = (sum ?? 0) + Number(match[3]);
  }
  return sum;
}

/** A TCP port nothing listens on now (host netns). */
async function freeTcpPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function config(ziti: { routerConfig?: string; routerRestartGraceMs?: number } = {}, interfaces: Record<string, unknown>[] = []): string {
  return stringify({
    agent: { pinRoot, adminSocket: join(dir, 'agent.sock'), logLevel: 'info' },
    plugins: [{ id: 'tc-tproxy', netns: lab.nsPath(router), interfaces: [{ name: 'rt0', echo: true }, ...interfaces] }],
    sources: [{ type: 'ziti', socket: zitiSocket, stateFile: join(dir, 'ziti-rules.json'), spool: join(dir, 'ziti-spool'), ...ziti }],
  });
}

let agent: SpawnedBpfsteer | undefined;

/**
 * Starts `bpfsteer run` (with `--keep-pinned` if asked) and waits until the diverter's `-V` succeeds
 * and the agent runs (the ziti API answers while the plugin still attaches; a rule inserted then
 * waits for it, a packet sent then is not yet filtered).
 */
async function startAgent(opts: { keepPinned?: boolean; takeOver?: boolean; env?: Record<string, string> } = {}): Promise<SpawnedBpfsteer> {
  const run = spawnBpfsteer(
    ['run', '-c', join(dir, 'agent.yaml'), ...(opts.keepPinned ? ['--keep-pinned'] : []), ...(opts.takeOver ? ['--take-over'] : [])],
    children,
    opts.env,
  );
  const until = Date.now() + 30_000;
  // this agent runs (not one it takes over from)
  const running = async (): Promise<boolean> => {
    const status = (await adminRequest(join(dir, 'agent.sock'), '/v1/status').catch(() => undefined))?.body as
      | { agent?: { state?: string; pid?: number } }
      | undefined;
    return status?.agent?.state === 'running' && status.agent.pid === run.child.pid;
  };
  for (;;) {
    if (run.child.exitCode !== null) throw new Error(`agent exited: ${run.stderr()}`);
    // -V exits 0 also without an agent; the agent's version line says it answered
    if (existsSync(zitiSocket) && (await diverter(['-V'])).stdout.includes('agent ') && (await running())) return run;
    if (Date.now() > until) throw new Error(`agent not ready: ${run.stderr()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function stopAgent(): Promise<void> {
  if (!agent) return;
  agent.child.kill('SIGTERM');
  const r = await agent.done;
  agent = undefined;
  expect(r.code).toBe(0);
}

/** The rules a router inserts for its services: TCP/UDP 80/53 to the ziti listener (IPv4, IPv6), TCP 9000 to the echo server. */
async function insertRouterRules(): Promise<void> {
  for (const args of [
    insert('10.99.0.0', 24, 'tcp', 80, 80, ziti.tcp4),
    insert('10.99.0.0', 24, 'tcp', 80, 80, ziti.tcp4, 'rt0'),
    insert('10.99.0.0', 24, 'udp', 53, 53, ziti.udp4),
    insert('fd00:99::', 64, 'tcp', 80, 80, ziti.tcp6),
    insert('10.99.0.0', 24, 'tcp', 9000, 9000, echoPort),
  ]) {
    const r = await diverter(args);
    expect(r.stderr, args.join(' ')).toBe('');
    expect(r.code, args.join(' ')).toBe(0);
  }
}

beforeAll(async () => {
  client = lab.addNetns('cl');
  router = lab.addNetns('rt');
  lab.addVeth(
    { netns: client, ifname: 'cl0', addresses: ['10.0.0.2/24', 'fd00:1::2/64'] },
    { netns: router, ifname: 'rt0', addresses: ['10.0.0.1/24', 'fd00:1::1/64'] },
  );
  lab.ip(client, 'route', 'add', '10.99.0.0/24', 'via', '10.0.0.1');
  lab.ip(client, '-6', 'route', 'add', 'fd00:99::/64', 'via', 'fd00:1::1');
  // what the ziti router does for an intercepted prefix: make it local
  lab.ip(router, 'route', 'add', 'local', '10.99.0.0/24', 'dev', 'lo');
  lab.ip(router, '-6', 'route', 'add', 'local', 'fd00:99::/64', 'dev', 'lo');
  ziti = await startZitiListener(lab.nsPath(router));
  const echo = lab.spawn(router, [process.execPath, '-e', ECHO_SERVER]);
  echoPort = await new Promise<number>((resolve) =>
    createInterface({ input: echo.stdout! }).once('line', (l) => resolve(JSON.parse(l).port as number)),
  );
});

afterAll(async () => {
  try {
    void ziti?.close();
  } finally {
    await lab.destroy();
  }
});

// each test: its own directory (config, state file, sockets, diverter links) and pin root
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), `bpfsteer-ziti-kt-${process.pid}-`));
  pinRoot = `/sys/fs/bpf/bpfsteer-kt-${lab.id}-${++tests}`;
  zitiSocket = join(dir, 'run', 'ziti.sock');
  for (const name of ['bpfsteer-diverter', 'map_update', 'map_delete']) await symlink(nativeDiverter, join(dir, name));
  await writeFile(join(dir, 'agent.yaml'), config());
});

afterEach(async () => {
  try {
    // the agent stops normally (a plain run detaches and unpins), anything else of the test is killed
    if (agent) {
      agent.child.kill('SIGTERM');
      await agent.done;
      agent = undefined;
    }
    for (const c of children.splice(0)) {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGKILL');
        await new Promise((resolve) => c.once('close', resolve));
      }
    }
  } finally {
    // what a failed keep-pinned test left: unpinned with no process holding them, its links detach
    await rm(pinRoot, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  }
});

describe('a ziti router driving bpfsteer-diverter', () => {
  it('starts with everything but SSH, ARP and echo dropped; the API socket is 0600', async () => {
    agent = await startAgent();
    expect(statSync(zitiSocket).mode & 0o777).toBe(0o600);
    expect(await divertedTo('tcp', '10.99.0.7', 80)).toBe('timeout');
    expect(lab.ping(client, '10.0.0.1')).toBe(true); // echo: true on rt0
  });

  it('a router that starts before the agent: -V exits 0, its changes are kept and applied in order once the agent runs', async () => {
    const version = await diverter(['-V']);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^bpfsteer-diverter \d+\.\d+\.\d+\S* \(native client\)$/m);
    expect(version.stderr).toMatch(/agent not reachable at .*ziti\.sock: the socket does not exist/);
    for (const args of [
      insert('10.99.0.0', 24, 'tcp', 80, 80, ziti.tcp4),
      insert('10.99.0.0', 24, 'udp', 53, 53, ziti.udp4),
      insert('10.99.0.0', 24, 'tcp', 8443, 8443, ziti.tcp4),
      remove('10.99.0.0', 24, 'tcp', 8443, 8443), // after its insert: the order holds
    ]) {
      const r = await diverter(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stderr).toMatch(/kept in .*ziti-spool/);
    }
    expect((await diverter(['-L'])).code).toBe(1); // a listing is never kept
    agent = await startAgent();
    for (let i = 0; i < 50 && !/Rule Count: 2 \//.test((await diverter(['-L'])).stdout); i++) await new Promise((r) => setTimeout(r, 100));
    expect((await diverter(['-L'])).stdout).toMatch(/Rule Count: 2 \//);
    expect(await divertedTo('tcp', '10.99.0.7', 80)).toBe('10.99.0.7:80');
    expect(await divertedTo('udp', '10.99.0.9', 53)).toBe('10.99.0.9:53');
    expect(await divertedTo('tcp', '10.99.0.7', 8443)).toBe('timeout');
    expect(agent.stderr()).toMatch(/applied a diverter call kept while the agent was unreachable/);
  });

  it('two services with the same tuple: removing either (its listener closed first, then the router\'s -D) keeps the other\'s interception', async () => {
    agent = await startAgent();
    const listeners: ZitiListener[] = [];
    try {
      // each service has its own listener and inserts the same address, ports, protocol and source
      const service = async (id: string) => {
        const l = await startZitiListener(lab.nsPath(router));
        listeners.push(l);
        const args = insert('10.99.0.0', 24, 'tcp', 80, 80, l.tcp4).map((a) => (a === 'svc-e2e' ? id : a));
        const r = await diverter(args);
        expect(r.code, r.stderr).toBe(0);
        return l;
      };
      const a = await service('svc-a');
      const b = await service('svc-b');
      expect(await divertedTo('tcp', '10.99.0.7', 80)).toBe('10.99.0.7:80'); // to b's listener, the latest
      await b.close(); // the newer service goes
      expect((await diverter(remove('10.99.0.0', 24, 'tcp', 80, 80))).code).toBe(0);
      expect(await divertedTo('tcp', '10.99.0.7', 80)).toBe('10.99.0.7:80'); // a's listener: still intercepted
      const c = await service('svc-c');
      await a.close(); // now the older one goes
      expect((await diverter(remove('10.99.0.0', 24, 'tcp', 80, 80))).code).toBe(0);
      expect(await divertedTo('tcp', '10.99.0.7', 80)).toBe('10.99.0.7:80'); // c's listener
      await c.close();
      expect((await diverter(remove('10.99.0.0', 24, 'tcp', 80, 80))).code).toBe(0);
      expect((await diverter(['-L'])).stdout).toMatch(/Rule Count: 0 \//);
      expect(await divertedTo('tcp', '10.99.0.7', 80)).toBe('timeout');
    } finally {
      await Promise.all(listeners.map((l) => l.close()));
    }
  });

  it('the router\'s own listeners (from its config file) are let in; changing the file follows', async () => {
    // the router's edge listener: a TCP server on 0.0.0.0:3022 in the router netns
    const edge = lab.spawn(router, [process.execPath, '-e', "require('node:net').createServer((s) => s.end('edge\\n')).listen(3022, '0.0.0.0', () => console.log('up'))"]);
    children.push(edge);
    await new Promise((resolve) => createInterface({ input: edge.stdout! }).once('line', resolve));
    const routerConfig = join(dir, 'router.yml');
    await writeFile(routerConfig, 'listeners:\n  - binding: edge\n    address: tls:0.0.0.0:3022\n');
    await writeFile(join(dir, 'agent.yaml'), config({ routerConfig }));
    agent = await startAgent();
    const reach = async () => (await lab.exchange(client, 'tcp', '10.0.0.1', 3022, { payload: 'hello', timeoutMs: 1500 })).reply?.trim() ?? 'no answer';
    expect(await reach()).toBe('edge');
    expect((await diverter(['-L'])).stdout).toMatch(/PASSTHRU\s+tcp\s+0\.0\.0\.0\/0\s+0\.0\.0\.0\/0\s+dpts=3022:3022/);
    await writeFile(routerConfig, 'listeners:\n  - binding: edge\n    address: tls:0.0.0.0:3023\n'); // moved: 3022 is no longer the router's
    for (let i = 0; i < 50 && (await reach()) === 'edge'; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await reach()).toBe('no answer');
  });

  it('under systemd (Type=notify, packaging/systemd): READY=1 once the agent runs, STOPPING=1 when it stops', async () => {
    const receiver = await startNotifyReceiver(join(dir, 'notify.sock'));
    try {
      agent = await startAgent({ env: { NOTIFY_SOCKET: join(dir, 'notify.sock') } });
      expect(await receiver.next()).toBe('READY=1\nSTATUS=running: 1 plugin(s), 1 source(s)');
      expect(await divertedTo('tcp', '10.99.0.7', 80)).toBe('timeout'); // it runs: filtering
      await stopAgent();
      expect(await receiver.next()).toBe('STOPPING=1');
    } finally {
      receiver.close();
    }
  });

  it('a router\'s life with the exact upstream vectors, 50 services: it starts first, services share tuples (IPv4, IPv6, TCP, UDP, -N, bare), the agent restarts mid-way, services go in every order, the router restarts with another service set (and the agent within its grace period)', async () => {
    // the grace period outlasts an agent restart (x4 and more under emulation: testTimeScale)
    const grace = 8000 * testTimeScale();
    await writeFile(join(dir, 'agent.yaml'), config({ routerRestartGraceMs: grace }));
    const listeners: ZitiListener[] = [];
    const routers: RouterStandIn[] = [];
    try {
      // the intercepted tuples (address, protocol, port; -N rt0 or bare); several services share each
      interface Tuple {
        readonly proto: 'tcp' | 'udp';
        readonly v6: boolean;
        readonly port: number;
        readonly ifname?: string;
      }
      const tuples: Tuple[] = [
        { proto: 'tcp', v6: false, port: 80 },
        { proto: 'udp', v6: false, port: 53 },
        { proto: 'tcp', v6: true, port: 80 },
        { proto: 'tcp', v6: false, port: 8080, ifname: 'rt0' },
        { proto: 'tcp', v6: false, port: 9090 },
        { proto: 'udp', v6: true, port: 53 },
        { proto: 'tcp', v6: true, port: 8443, ifname: 'rt0' },
        { proto: 'udp', v6: false, port: 5353, ifname: 'rt0' },
        { proto: 'tcp', v6: false, port: 81 },
        { proto: 'tcp', v6: false, port: 82, ifname: 'rt0' },
        { proto: 'udp', v6: false, port: 54 },
        { proto: 'tcp', v6: true, port: 83 },
        { proto: 'tcp', v6: false, port: 84 }, // only the restarted router's new services
      ];
      const prefix = (t: Tuple): [string, number] => (t.v6 ? ['fd00:99::', 64] : ['10.99.0.0', 24]);
      // each service: its own listener (a router opens one per service), its -I as tproxy_linux.go builds it
      interface Service {
        readonly id: string;
        readonly tuple: number;
        readonly listener: ZitiListener;
      }
      const service = async (n: number, tuple: number): Promise<Service> => {
        const listener = await startZitiListener(lab.nsPath(router));
        listeners.push(listener);
        return { id: `svc-${n}`, tuple, listener };
      };
      const insertOf = (s: Service): string[] => {
        const t = tuples[s.tuple];
        const port = t.v6 ? (t.proto === 'tcp' ? s.listener.tcp6 : s.listener.udp6) : t.proto === 'tcp' ? s.listener.tcp4 : s.listener.udp4;
        return insert(...prefix(t), t.proto, t.port, t.port, port, t.ifname).map((a) => (a === 'svc-e2e' ? s.id : a));
      };
      const removeOf = (s: Service): string[] => {
        const t = tuples[s.tuple];
        return remove(...prefix(t), t.proto, t.port, t.port);
      };
      // services 0-24 on tuples 0-7, 25-49 on tuples 4-11 (4-7 shared by both halves)
      const services: Service[] = [];
      for (let n = 0; n < 50; n++) services.push(await service(n, n < 25 ? n % 8 : 4 + (n % 8)));
      const owners = (tuple: number, alive: readonly Service[]) => alive.filter((s) => s.tuple === tuple);
      /** Traffic to each tuple in `which`: diverted (the listener saw the original destination) or dropped as `diverted` says. */
      const check = async (which: readonly number[], diverted: (tuple: number) => boolean, step: string) => {
        for (const i of which) {
          const t = tuples[i];
          const host = t.v6 ? 'fd00:99::7' : '10.99.0.7';
          const want = diverted(i);
          const got = await divertedTo(t.proto, host, t.port, want ? 1500 : 700);
          expect(got, `${step}: tuple ${i} (${t.proto} ${host}:${t.port}${t.ifname ? ` -N ${t.ifname}` : ''})`).toBe(
            want ? (t.v6 ? `[${host}]:${t.port}` : `${host}:${t.port}`) : 'timeout',
          );
        }
      };
      const all = tuples.map((_, i) => i);
      let alive: Service[] = [];
      const run = async (r: RouterStandIn, args: string[]) => expect(await r.run(args), args.join(' ')).toMatchObject({ code: 0 });
      /** A service goes as the router removes it: its listener closes, then the router's -D (no -s). */
      const gone = async (r: RouterStandIn, s: Service) => {
        await s.listener.close();
        await run(r, removeOf(s));
        alive = alive.filter((x) => x !== s);
      };

      // 1. the router starts before the agent: -V exits 0, its first 25 services' inserts are kept
      const first = startRouterProcess();
      routers.push(first);
      expect(await first.run(['-V'])).toMatchObject({ code: 0 });
      for (const s of services.slice(0, 25)) await run(first, insertOf(s));
      alive = services.slice(0, 25);
      agent = await startAgent({ keepPinned: true });
      await check(all, (i) => owners(i, alive).length > 0, 'kept inserts applied at the agent start');

      // 2. 25 more services while the agent runs
      for (const s of services.slice(25)) await run(first, insertOf(s));
      alive = [...services];
      await check(all, (i) => owners(i, alive).length > 0, 'all 50 services');

      // 3. the agent restarts while the router removes every service of tuple 8: kept, no gap for the others meanwhile
      await stopAgent();
      for (const s of owners(8, alive)) await gone(first, s);
      await check([0, 2, 5, 9], () => true, 'no agent running');
      agent = await startAgent({ keepPinned: true });
      await check(all, (i) => owners(i, alive).length > 0, 'after the agent restart');

      // 4. services go in every order: the newest first, the oldest first, the middle first, alternating
      const orders: [number, (list: Service[]) => Service[]][] = [
        [0, (l) => [...l].reverse()],
        [1, (l) => l],
        [2, (l) => [l[Math.floor(l.length / 2)], ...l.filter((_, i) => i !== Math.floor(l.length / 2))]],
        [3, (l) => [...l.filter((_, i) => i % 2 === 1), ...l.filter((_, i) => i % 2 === 0)]],
      ];
      for (const [tuple, order] of orders) {
        const list = order(owners(tuple, alive));
        expect(list.length, `tuple ${tuple} owners`).toBeGreaterThan(1);
        for (const s of list) {
          await gone(first, s);
          await check([tuple], (i) => owners(i, alive).length > 0, `${s.id} of tuple ${tuple} gone`);
        }
      }
      await check(all, (i) => owners(i, alive).length > 0, 'after the removals');

      // 5. the router restarts with another service set: those of tuples 4-7 again, three new ones on tuple 12; 9-11 no longer
      await first.stop();
      const second = startRouterProcess();
      routers.push(second);
      expect(await second.run(['-V'])).toMatchObject({ code: 0 });
      const kept = alive.filter((s) => s.tuple >= 4 && s.tuple <= 7);
      const added = [await service(50, 12), await service(51, 12), await service(52, 12)];
      for (const s of [...kept, ...added]) await run(second, insertOf(s));
      // (those to be swept first: the grace period runs)
      await check([9, 10, 11, 4, 5, 6, 7, 12], () => true, 'within the grace period: nothing gone');
      alive = [...kept, ...added];
      // the agent restarts within the grace period: the next one sweeps when it ends (the generations were saved)
      const restartedAt = Date.now();
      await stopAgent();
      agent = await startAgent({ keepPinned: true });
      expect(Date.now() - restartedAt, 'the agent restart took less than the grace period').toBeLessThan(grace * 0.75);
      await check([9, 4, 12], () => true, 'after the agent restart, within the grace period');
      const last = tuples[11];
      for (let i = 0; i < 60 * testTimeScale() && (await divertedTo(last.proto, 'fd00:99::7', last.port, 500)) !== 'timeout'; i++) await new Promise((r) => setTimeout(r, 100));
      await check(all, (i) => owners(i, alive).length > 0, 'after the grace period');
      expect(agent.stderr()).toMatch(/removed the rules of services the restarted router did not insert again/);
    } finally {
      await Promise.all(routers.map((r) => r.stop()));
      await Promise.all(listeners.map((l) => l.close()));
    }
  });

  it('the Node CLI of the npm package drives the same API', async () => {
    agent = await startAgent();
    const r = await diverter(insert('10.99.0.0', 24, 'tcp', 80, 80, ziti.tcp4), 'bpfsteer-diverter', { node: true });
    expect(r.code, r.stderr).toBe(0);
    expect(await divertedTo('tcp', '10.99.0.7', 80)).toBe('10.99.0.7:80');
    expect((await diverter(['-L'], 'bpfsteer-diverter', { node: true })).stdout).toMatch(/Rule Count: 1 \//);
  });

  it('diverts TCP and UDP (IPv4 and IPv6) after the router\'s insert calls; the listener sees the original destination', async () => {
    agent = await startAgent();
    expect(await divertedTo('tcp', '10.99.0.7', 80)).toBe('timeout');
    await insertRouterRules();
    expect(await divertedTo('tcp', '10.99.0.7', 80)).toBe('10.99.0.7:80');
    expect(await divertedTo('udp', '10.99.0.9', 53)).toBe('10.99.0.9:53');
    expect(await divertedTo('tcp', 'fd00:99::7', 80)).toBe('[fd00:99::7]:80');
    expect(await divertedTo('tcp', '10.99.0.7', 81)).toBe('timeout'); // no rule for this port
  });

  it('lists the rules with their hit counters (table and JSON)', async () => {
    agent = await startAgent();
    await insertRouterRules();
    expect(await divertedTo('tcp', '10.99.0.7', 80)).toBe('10.99.0.7:80'); // a hit
    const table = await diverter(['-L']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/TPROXY\s+tcp\s+0\.0\.0\.0\/0\s+10\.99\.0\.0\/24\s+dpts=80:80/);
    expect(table.stdout).toMatch(/Rule Count: 4 \/ \d+/);
    const json = await diverter(['-L', '--json']);
    const body = JSON.parse(json.stdout) as { rules: { destination: string; ports: { low: number }; packets: number }[] };
    const tcp80 = body.rules.find((r) => r.destination === '10.99.0.0/24' && r.ports.low === 80);
    expect(tcp80?.packets).toBeGreaterThan(0);
    expect(table.stdout).not.toMatch(/divert.? nothing now/); // every rule's listener is there
    // a rule whose listener is not there (the port of nothing) is shown as diverting nothing, and why
    expect((await diverter(insert('10.99.0.0', 24, 'udp', 5353, 5353, 1))).code).toBe(0);
    const listed = await diverter(['-L']);
    expect(listed.stdout).toMatch(/1 rule diverts nothing now:\n {2}udp 0\.0\.0\.0\/0 10\.99\.0\.0\/24 dpts=5353:5353: no UDP listener at 127\.0\.0\.1:1: its connections are dropped/);
    const json2 = JSON.parse((await diverter(['-L', '--json'])).stdout) as { rules: { ports: { low: number }; problem?: string }[] };
    expect(json2.rules.find((r) => r.ports.low === 5353)?.problem).toMatch(/no UDP listener/);
  });

  it('serves Prometheus metrics on the admin socket and on TCP with a token; the series move with rules and traffic', async () => {
    const tokenFile = join(dir, 'metrics-token');
    await writeFile(tokenFile, 'metrics-token-for-the-test-0123\n', { mode: 0o600 });
    const port = await freeTcpPort();
    const base = parse(config()) as { agent: Record<string, unknown>; plugins: Record<string, unknown>[] };
    base.agent.metrics = { listen: `127.0.0.1:${port}`, tokenFile };
    base.plugins[0]!.metrics = { perService: true };
    await writeFile(join(dir, 'agent.yaml'), stringify(base));
    agent = await startAgent();
    const scrape = async (): Promise<string> => {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: 'Bearer metrics-token-for-the-test-0123' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      return res.text();
    };
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(401);
    const before = await scrape();
    const rules = { plugin: 'tc-tproxy', map: 'tctp_rules' };
    const diverted = { interface: 'rt0', verdict: 'diverted' };
    expect(sample(before, 'bpfsteer_plugin_state', { plugin: 'tc-tproxy', state: 'running' })).toBe(1);
    expect(sample(before, 'bpfsteer_source_state', { source: 'ziti#0', type: 'ziti', state: 'running' })).toBe(1);
    expect(sample(before, 'bpfsteer_plugin_map_entries', rules)).toBe(0);
    expect(sample(before, 'bpfsteer_plugin_map_capacity', rules)).toBeGreaterThan(0);
    const divertedBefore = sample(before, 'bpfsteer_tproxy_interface_packets_total', diverted) ?? 0;
    const droppedBefore = sample(before, 'bpfsteer_tproxy_interface_packets_total', { interface: 'rt0', verdict: 'dropped' }) ?? 0;

    await insertRouterRules();
    expect(await divertedTo('tcp', '10.99.0.7', 80)).toBe('10.99.0.7:80');
    expect(await divertedTo('udp', '10.99.0.9', 53)).toBe('10.99.0.9:53');
    expect(await divertedTo('tcp', '10.99.0.7', 81)).toBe('timeout'); // no rule: dropped

    const after = await scrape();
    expect(sample(after, 'bpfsteer_plugin_map_entries', rules)).toBe(4);
    expect(sample(after, 'bpfsteer_tproxy_interface_packets_total', diverted)).toBeGreaterThan(divertedBefore);
    expect(sample(after, 'bpfsteer_tproxy_interface_packets_total', { interface: 'rt0', verdict: 'dropped' })).toBeGreaterThan(droppedBefore);
    expect(sample(after, 'bpfsteer_tproxy_service_packets_total', { service: 'svc-e2e' })).toBeGreaterThan(0);
    expect(sample(after, 'bpfsteer_source_commits_total', { source: 'ziti#0', outcome: 'ok' })).toBeGreaterThanOrEqual(5);
    expect(sample(after, 'bpfsteer_plugin_apply_duration_seconds_count', { plugin: 'tc-tproxy' })).toBeGreaterThanOrEqual(
      sample(before, 'bpfsteer_plugin_apply_duration_seconds_count', { plugin: 'tc-tproxy' }) ?? 0,
    );
    expect(sample(after, 'bpfsteer_plugin_apply_changes_total', { plugin: 'tc-tproxy', change: 'added' })).toBeGreaterThanOrEqual(4);
    expect(sample(after, 'bpfsteer_ziti_api_requests_total', { method: 'POST', status: '200' })).toBeGreaterThanOrEqual(5);
    // no per-rule series by default or with perService
    expect(after).not.toMatch(/10\.99\.0\.0/);

    // the same on the admin socket
    const admin = await new Promise<string>((resolve, reject) => {
      const req = httpRequest({ socketPath: join(dir, 'agent.sock'), path: '/metrics' }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.end();
    });
    expect(sample(admin, 'bpfsteer_plugin_map_entries', rules)).toBe(4);
  });

  it('refuses bad input with a message and a non-zero exit, changing nothing', async () => {
    agent = await startAgent();
    await insertRouterRules();
    const before = (await diverter(['-L', '--json'])).stdout;
    for (const args of [
      ['-I', '-c', '10.99.0.300', '-m', '24', '-p', 'tcp', '-l', '1', '-h', '2', '-t', '5'],
      ['-I', '-c', '10.99.0.0', '-m', '33', '-p', 'tcp', '-l', '1', '-h', '2', '-t', '5'],
      ['-I', '-c', '10.99.0.0', '-m', '24', '-p', 'tcp', '-l', '9', '-h', '2', '-t', '5'],
      ['-I', '-c', '10.99.0.0', '-m', '24', '-p', 'sctp', '-l', '1', '-h', '2', '-t', '5'],
      ['-I', '-c', '10.99.0.0', '-m', '24', '-p', 'tcp', '-l', '1', '-h', '70000', '-t', '5'],
      // an IPv6 intercept pointing at the router's IPv4-only listener (the real router's way): refused, not a silent no-op
      insert('fd00:99::', 64, 'tcp', 8080, 8080, ziti.tcp4),
    ]) {
      const r = await diverter(args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr.length, args.join(' ')).toBeGreaterThan(0);
    }
    expect((await diverter(['-L', '--json'])).stdout).toBe(before);
  });

  it('-N naming an interface the plugin does not attach: the rule is kept, applies nowhere yet, and -L says why', async () => {
    agent = await startAgent();
    const r = await diverter(insert('10.99.0.0', 24, 'tcp', 80, 80, ziti.tcp4, 'nosuch0'));
    expect(r.code, r.stderr).toBe(0);
    expect(await divertedTo('tcp', '10.99.0.7', 80)).toBe('timeout');
    expect((await diverter(['-L'])).stdout).toMatch(/interface nosuch0 not attached by this plugin \(attached: rt0\): the rule applies nowhere until it is attached/);
    // the same service on the attached interface too: it applies there
    expect((await diverter(insert('10.99.0.0', 24, 'tcp', 80, 80, ziti.tcp4, 'rt0'))).code).toBe(0);
    expect(await divertedTo('tcp', '10.99.0.7', 80)).toBe('10.99.0.7:80');
  });

  it('-N naming an optional interface the router\'s host makes later: the rule is kept, -L says it waits, and it applies once the interface appears', async () => {
    await writeFile(join(dir, 'agent.yaml'), config({}, [{ name: 'rt9', optional: true }]));
    agent = await startAgent();
    const r = await diverter(insert('10.99.0.0', 24, 'tcp', 80, 80, ziti.tcp4, 'rt9'));
    expect(r.code, r.stderr).toBe(0);
    expect((await diverter(['-L'])).stdout).toMatch(/interface rt9 not present \(optional: attached when it appears\): the rule applies nowhere until it appears/);
    // the interface appears, with a client behind it
    const late = lab.addNetns('c9');
    lab.addVeth({ netns: late, ifname: 'eth0', addresses: ['10.0.9.2/24'] }, { netns: router, ifname: 'rt9', addresses: ['10.0.9.1/24'] });
    lab.ip(late, 'route', 'add', '10.99.0.0/24', 'via', '10.0.9.1');
    const fromLate = async () => {
      const x = await lab.exchange(late, 'tcp', '10.99.0.7', 80, { payload: 'probe', timeoutMs: 1500 });
      return x.reply?.match(/^orig=(\S+) /)?.[1] ?? x.error ?? String(x.reply);
    };
    for (let i = 0; i < 50 && !/rt9\s+\S+\s+tcx/.test((await diverter(['-L', '-E'])).stdout); i++) await new Promise((res) => setTimeout(res, 100));
    expect(await fromLate()).toBe('10.99.0.7:80');
    expect(await divertedTo('tcp', '10.99.0.7', 80)).toBe('timeout'); // rt0: the rule names rt9 only
    expect((await diverter(['-L'])).stdout).not.toMatch(/not present/);
    expect(agent.stderr()).toMatch(/optional interface present: tproxy program attached, rules applied there/);
  });

  it('accepts the old positional map_update / map_delete forms (and fails a usage error)', async () => {
    agent = await startAgent();
    expect(await divertedTo('tcp', '10.99.0.7', 8080)).toBe('timeout');
    expect((await diverter(['10.99.0.0', '24', '8080', '8080', String(ziti.tcp4), '6'], 'map_update')).code).toBe(0);
    expect(await divertedTo('tcp', '10.99.0.7', 8080)).toBe('10.99.0.7:8080');
    expect((await diverter(['10.99.0.0', '24', '8080', '6'], 'map_delete')).code).toBe(0);
    expect(await divertedTo('tcp', '10.99.0.7', 8080)).toBe('timeout');
    expect((await diverter(['10.99.0.0'], 'map_update')).code).not.toBe(0);
  });

  it('keeps a diverted connection and the rules across an agent restart', async () => {
    agent = await startAgent({ keepPinned: true });
    await insertRouterRules();
    const held = holdConnection('10.99.0.5', 9000);
    expect(await held.connected).toEqual({ connected: true });
    expect(await held.send('one')).toBe('echo 10.99.0.5:9000 one');
    await stopAgent(); // --keep-pinned: programs, maps and links stay in force
    expect(await held.send('two')).toBe('echo 10.99.0.5:9000 two');
    expect(await divertedTo('tcp', '10.99.0.7', 80)).toBe('10.99.0.7:80'); // new connections too, with no agent
    const kept = await diverter(insert('10.99.0.0', 24, 'tcp', 81, 81, ziti.tcp4)); // a service added meanwhile
    expect(kept.code, kept.stderr).toBe(0);
    agent = await startAgent();
    expect(await held.send('three')).toBe('echo 10.99.0.5:9000 three');
    expect(await divertedTo('udp', '10.99.0.9', 53)).toBe('10.99.0.9:53');
    expect(await divertedTo('tcp', '10.99.0.7', 81)).toBe('10.99.0.7:81'); // kept, applied at the start
    expect((await diverter(['-L'])).stdout).toMatch(/Rule Count: 5 \//);
  });

  it('a new agent takes over from the running one: every request on both sockets is answered meanwhile; rules and a diverted connection go on', async () => {
    const old = await startAgent(); // no --keep-pinned: the handover keeps the pins all the same
    agent = old;
    await insertRouterRules();
    const held = holdConnection('10.99.0.5', 9000);
    expect(await held.connected).toEqual({ connected: true });
    expect(await held.send('one')).toBe('echo 10.99.0.5:9000 one');

    // a client of each socket asking every 20 ms (Node's client: connections kept alive), as a router's health check would
    let polling = true;
    const failures: string[] = [];
    const answers = new Map<string, number>();
    const poll = async (socket: string, path: string): Promise<void> => {
      while (polling) {
        try {
          const r = await adminRequest(socket, path, { timeoutMs: 10_000 });
          answers.set(`${path} ${r.status}`, (answers.get(`${path} ${r.status}`) ?? 0) + 1);
        } catch (err) {
          failures.push(`${path}: ${(err as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const pollers = [poll(join(dir, 'agent.sock'), '/v1/status'), poll(zitiSocket, '/v1/health')];
    try {
      agent = await startAgent({ takeOver: true }); // returns once it runs (the old one has exited by then)
      const oldExit = await old.done;
      expect(oldExit.code, oldExit.stderr).toBe(0);
      expect(oldExit.stderr).toMatch(/handing over/);
      expect(agent.stderr()).toMatch(/the previous agent handed over and exited/);
      expect(agent.stderr()).toMatch(/adopted the rules of the pinned maps/); // kept by the old agent, though run without --keep-pinned
    } finally {
      polling = false;
      await Promise.all(pollers);
    }
    expect(failures).toEqual([]);
    // the new agent answered "starting" / "loading" before it ran: it took the sockets before the old one stopped
    expect(answers.get('/v1/health 503') ?? 0).toBeGreaterThan(0);
    expect(answers.get('/v1/status 200') ?? 0).toBeGreaterThan(0);

    expect(await held.send('two')).toBe('echo 10.99.0.5:9000 two');
    expect(await divertedTo('udp', '10.99.0.9', 53)).toBe('10.99.0.9:53');
    expect((await diverter(['-L'])).stdout).toMatch(/Rule Count: 4 \//);
    expect((await diverter(insert('10.99.0.0', 24, 'tcp', 81, 81, ziti.tcp4))).code).toBe(0);
    expect(await divertedTo('tcp', '10.99.0.7', 81)).toBe('10.99.0.7:81');
  });

  it('--take-over without a running agent starts as usual', async () => {
    agent = await startAgent({ takeOver: true });
    expect(agent.stderr()).toMatch(/no running agent to take over from/);
    await insertRouterRules();
    expect(await divertedTo('tcp', '10.99.0.7', 80)).toBe('10.99.0.7:80');
  });

  it('a delete restores the drop; flush removes every rule', async () => {
    agent = await startAgent();
    await insertRouterRules();
    expect(await divertedTo('tcp', '10.99.0.7', 80)).toBe('10.99.0.7:80');
    expect(await divertedTo('udp', '10.99.0.9', 53)).toBe('10.99.0.9:53');
    expect((await diverter(remove('10.99.0.0', 24, 'tcp', 80, 80))).code).toBe(0);
    expect(await divertedTo('tcp', '10.99.0.7', 80)).toBe('timeout');
    expect((await diverter(remove('10.99.0.0', 24, 'tcp', 80, 80))).code).not.toBe(0); // already gone
    expect((await diverter(['-F'])).code).toBe(0);
    expect((await diverter(['-L'])).stdout).toMatch(/Rule Count: 0 \//);
    expect(await divertedTo('udp', '10.99.0.9', 53)).toBe('timeout');
  });

  it('a plain stop detaches and removes the pins', async () => {
    agent = await startAgent({ keepPinned: true });
    await insertRouterRules();
    await stopAgent(); // --keep-pinned: the pins stay
    expect(existsSync(join(pinRoot, 'tc-tproxy'))).toBe(true);
    expect(await divertedTo('tcp', '10.99.0.7', 80)).toBe('10.99.0.7:80');
    agent = await startAgent(); // adopts the pins
    expect((await diverter(['-L'])).stdout).toMatch(/Rule Count: 4 \//);
    await stopAgent();
    expect(existsSync(join(pinRoot, 'tc-tproxy'))).toBe(false);
    expect(await divertedTo('tcp', '10.99.0.7', 80)).not.toBe('10.99.0.7:80'); // detached
  });
});
