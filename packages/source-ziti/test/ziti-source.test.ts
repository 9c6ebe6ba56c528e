/**
 * Kernel-free integration: the ziti source started on a temp unix socket with a fake sink, driven
 * with the contract's argument vectors by the real built clients: the native client the router
 * runs (dist/native/linux-<arch>/bpfsteer-diverter, forwarding its arguments to the agent) and the
 * Node CLI (dist/diverter.js, spawned with node), which must behave alike (one parser).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createConnection, createServer, type Socket } from 'node:net';
import { arch, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { type IntentSink, type IntentSource, MetricsRegistry } from '@bpfsteer/agent-kernel';
import { startRouterStandIn } from '@bpfsteer/netlab';
import { zitiSource, zitiSourceConfigSchema, type ZitiSourceConfigInput } from '../src/index.js';
import { agentRequest } from '../src/diverter/agent-client.js';
import { laneCall } from '../src/api/diverter-fast-lane.js';
import { fakeKernel, ok, type FakeKernel } from './fake-kernel.js';

vi.setConfig({ testTimeout: 30_000 });

const bin = fileURLToPath(new URL('../dist/diverter.js', import.meta.url));
const nativeBin = fileURLToPath(new URL(`../dist/native/linux-${arch()}/bpfsteer-diverter`, import.meta.url));
let dir: string;
let socket: string;
/** each test's own state file and spool (under it), so any test runs alone */
let testDir: string;
let tests = 0;

/** A diverter program: its links (bpfsteer-diverter, map_update, map_delete) live in `links`. */
interface Client {
  readonly name: 'Node CLI' | 'native client';
  readonly links: string;
  /** the command line that runs the link `path` with `args` */
  command(path: string, args: readonly string[]): [string, string[]];
}
const nodeCli: Client = { name: 'Node CLI', links: 'node-cli', command: (path, args) => [process.execPath, [path, ...args]] };
const nativeClient: Client = { name: 'native client', links: 'native', command: (path, args) => [path, [...args]] };
/** the client `run` and `diverter` use */
let client = nodeCli;

beforeAll(async () => {
  for (const b of [bin, nativeBin]) if (!existsSync(b)) throw new Error(`${b} is missing: build the package first (npm run build)`);
  dir = await mkdtemp(join(tmpdir(), `ziti-src-${process.pid}-`));
  socket = join(dir, 'run', 'ziti.sock');
  for (const [target, c] of [[bin, nodeCli], [nativeBin, nativeClient]] as const) {
    await mkdir(join(dir, c.links));
    for (const name of ['map_update', 'map_delete', 'bpfsteer-diverter']) await symlink(target, join(dir, c.links, name));
  }
});
afterAll(async () => rm(dir, { recursive: true, force: true }));
beforeEach(() => void (testDir = join(dir, `test-${++tests}`)));

interface Running {
  source: IntentSource;
  kernel: FakeKernel;
  sink: IntentSink;
}
const running: Running[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.source.stop();
});

/** A ziti source on the fake kernel (not started). */
function createSource(config: ReturnType<typeof zitiSourceConfigSchema.parse>, kernel: FakeKernel) {
  return zitiSource.create(config, {
    logger: pino({ level: 'silent' }),
    signal: new AbortController().signal,
    intentSchemas: new Map(),
    metrics: new MetricsRegistry(),
    describe: kernel.context.describe,
    consumers: kernel.context.consumers,
    watch: kernel.context.watch,
    problem: kernel.context.problem,
  });
}

async function startSource(config: Partial<ZitiSourceConfigInput> = {}, kernel = fakeKernel()): Promise<Running> {
  const parsed = zitiSourceConfigSchema.parse({ socket, stateFile: join(testDir, 'state', 'rules.json'), spool: join(testDir, 'spool'), ...config });
  const source = createSource(parsed, kernel);
  const sink: IntentSink = { publish: vi.fn(), commit: kernel.commit, publishChange: vi.fn(), commitChange: kernel.commitChange };
  await source.start(sink);
  const r = { source, kernel, sink };
  running.push(r);
  return r;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a client: the source's socket and spool; no /etc/bpfsteer/diverter.conf of the host. */
const clientEnv = (env: Record<string, string> = {}) => ({
  PATH: process.env.PATH,
  BPFSTEER_ZITI_SOCKET: socket,
  BPFSTEER_ZITI_SPOOL: join(testDir, 'spool'),
  BPFSTEER_DIVERTER_CONF: '/dev/null',
  ...env,
});

function run(program: string, args: string[], env: Record<string, string> = {}, using = client): Promise<Run> {
  const [file, argv] = using.command(join(dir, using.links, program), args);
  return new Promise((resolve) => {
    execFile(file, argv, { env: clientEnv(env) }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}
const diverter = (args: string, env?: Record<string, string>) => run('bpfsteer-diverter', args.split(' '), env);

describe.each([nativeClient, nodeCli])('the ziti router contract through the real $name', (using) => {
  beforeAll(() => void (client = using));
  afterAll(() => void (client = nodeCli));

  test('socket 0600 in a 0700 directory; -V; insert per interface; list; delete; exit codes', async () => {
    const { kernel } = await startSource();
    expect((await stat(socket)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'run'))).mode & 0o777).toBe(0o700);

    const version = await diverter('-V');
    expect(version).toMatchObject({ code: 0 });
    expect(version.stdout).toMatch(
      using === nativeClient
        ? /^bpfsteer-diverter \S+ \(native client\)\nagent @bpfsteer\/source-ziti \S+, API v1\n$/
        : /^bpfsteer-diverter \S+ \(agent @bpfsteer\/source-ziti \S+, API v1\)/,
    );

    const add = '-I -c 10.0.0.16 -m 28 -p tcp -o 0.0.0.0 -n 0 -l 22 -h 22 -t 33381 -s svc1';
    expect(await diverter(add)).toMatchObject({ code: 0 });
    expect(await diverter(`${add} -N ens33`)).toMatchObject({ code: 0 });
    expect(await diverter(`${add} -N lo`)).toMatchObject({ code: 0 });
    expect(kernel.commits.at(-1)).toEqual([
      { kind: 'tproxy.rule', destination: '10.0.0.16/28', source: '0.0.0.0/0', protocol: 'tcp', ports: { low: 22, high: 22 }, action: 'divert', tproxyPort: 33381, interfaces: ['ens33', 'lo'], service: 'svc1' },
    ]);

    const list = await diverter('-L');
    expect(list.code).toBe(0);
    expect(list.stdout.replace(/ +/g, ' ')).toContain('TPROXY tcp 0.0.0.0/0 10.0.0.16/28 dpts=22:22 TPROXY redirect 127.0.0.1:33381 [ens33,lo]');
    expect(list.stdout).toContain('Rule Count: 1 / ?');
    const json = JSON.parse((await diverter('-L --json')).stdout);
    expect(json).toMatchObject({ total: 1, rules: [{ destination: '10.0.0.16/28', interfaces: ['ens33', 'lo'] }] });

    const del = '-D -c 10.0.0.16 -m 28 -p tcp -o 0.0.0.0 -n 0 -l 22 -h 22';
    expect(await diverter(`${del} -N ens33`)).toMatchObject({ code: 0 });
    expect(await diverter(`${del} -N lo`)).toMatchObject({ code: 0 });
    expect(kernel.commits.at(-1)).toEqual([]);
    const missing = await diverter(del);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no rule tcp 10.0.0.16/28 from 0.0.0.0/0 ports 22-22 (ERR_RULE_NOT_FOUND)');

    const bad = await diverter('-I -c 10.0.0.16 -m 33 -p tcp -l 22 -h 22 -t 1');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('prefix length 33 is larger than 32 for IPv4');
    expect(bad.stderr).toContain('Usage: bpfsteer-diverter');
  });

  test('map_update / map_delete positional and intermediate forms', async () => {
    const { source } = await startSource();
    const state = () => (source as unknown as { service: { state: { rules: Map<string, unknown> } } }).service.state;
    expect(await run('map_update', '172.16.240.0 24 5060 5060 58997 17'.split(' '))).toMatchObject({ code: 0 });
    expect(await run('map_update', '10.1.1.1 32 443 443 0 6'.split(' '))).toMatchObject({ code: 0 });
    expect(await run('map_update', '-I -c 172.16.240.0 -m 24 -l 5060 -h 5070 -t 58998 -p udp'.split(' '))).toMatchObject({ code: 0 });
    expect(state().rules.size).toBe(3);
    // delete by low port: both 5060 ranges go
    expect(await run('map_delete', '172.16.240.0 24 5060 17'.split(' '))).toMatchObject({ code: 0 });
    expect(state().rules.size).toBe(1);
    expect(await run('map_update', '-D -c 10.1.1.1 -m 32 -l 443 -p tcp'.split(' '))).toMatchObject({ code: 0 });
    expect(state().rules.size).toBe(0);
    const usage = await run('map_update', ['172.16.240.0', '24']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('map_update takes 6 arguments');
    expect((await run('map_delete', '172.16.240.0 24 5060 17'.split(' '))).code).toBe(1);
  });

  test('-e / -x / -L -E / -F', async () => {
    const { kernel } = await startSource();
    expect(await diverter('-e eth0')).toMatchObject({ code: 0, stdout: 'eth0: ICMP echo allowed\n' });
    expect(await diverter('-x eth0')).toMatchObject({ code: 0 });
    expect(kernel.commits.at(-1)).toEqual([{ kind: 'tproxy.interface', name: 'eth0', ssh: false, echo: true }]);
    expect((await diverter('-L -E')).stdout).toMatch(/eth0\s+-\s+\(not attached\)\s+off\s+on/);
    await diverter('-I -c 10.0.0.1 -p udp -l 53 -t 0');
    expect(await diverter('-F')).toMatchObject({ code: 0, stdout: 'flushed: 1 rule removed\n' });
  });

  test('a refused commit is exit 1 with the agent\'s message; nothing changes', async () => {
    const { kernel } = await startSource();
    kernel.result = { ok: false, reason: 'invalid', error: 'interface eth7 is not attached' };
    const res = await diverter('-I -c 10.0.0.1 -p tcp -l 1 -t 9 -N eth7');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('interface eth7 is not attached (ERR_REJECTED)');
  });

  test('-M prints one line per event until SIGINT', async () => {
    const { kernel } = await startSource();
    const [file, argv] = using.command(join(dir, using.links, 'bpfsteer-diverter'), ['-M']);
    const child = spawn(file, argv, { env: clientEnv() });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await vi.waitFor(() => expect(kernel.listeners.size).toBe(1), { timeout: 10_000 });
    kernel.emit({ time: '2024-01-01T00:00:00.000Z', interface: 'eth0', kind: 'drop', reason: 'no-rule', family: 4, protocol: 'udp', source: '10.0.0.9:999', destination: '10.0.0.1:53' });
    await vi.waitFor(() => expect(out).toContain('eth0 drop no-rule udp 10.0.0.9:999 -> 10.0.0.1:53'), { timeout: 10_000 });
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    await vi.waitFor(() => expect(kernel.listeners.size).toBe(0));
  });

  test('after stop: -V says "agent not reachable at <socket>" (the native client exits 0: a router must start before its agent); the socket is gone', async () => {
    const r = await startSource();
    await r.source.stop();
    running.splice(running.indexOf(r), 1);
    expect(existsSync(socket)).toBe(false);
    const res = await diverter('-V');
    expect(res.code).toBe(using === nativeClient ? 0 : 1);
    expect(res.stderr).toContain(`agent not reachable at ${socket}: `);
  });

  test('a restart re-publishes the saved rules', async () => {
    const first = await startSource();
    await diverter('-I -c 10.9.0.0 -m 16 -p tcp -l 80 -h 90 -t 4000 -s web');
    await diverter('-e lo');
    const saved = first.kernel.commits.at(-1);
    await first.source.stop();
    running.splice(0);
    const second = await startSource();
    expect(second.kernel.commits[0]).toEqual(saved);
    expect(JSON.parse(await readFile(join(testDir, 'state', 'rules.json'), 'utf8'))).toMatchObject({ version: 1, rules: [{ destination: '10.9.0.0/16' }] });
    await diverter('-F');
    await diverter('-e lo'); // unchanged
  });
});

describe('the native client while no agent answers (issue 10: the router starts first, nothing is lost)', () => {
  beforeAll(() => void (client = nativeClient));
  afterAll(() => void (client = nodeCli));
  const spoolDir = () => join(testDir, 'spool');
  const kept = async () => (await readdir(spoolDir()).catch(() => [] as string[])).filter((n) => n.endsWith('.call')).sort();
  const add = (ip: string, port: number) => `-I -c ${ip} -m 32 -p tcp -o 0.0.0.0 -n 0 -l ${port} -h ${port} -t 4000 -s svc-${port}`;
  const del = (ip: string, port: number) => `-D -c ${ip} -m 32 -p tcp -o 0.0.0.0 -n 0 -l ${port} -h ${port}`;
  const ruleKeys = (kernel: FakeKernel) => [...kernel.held.values()].map((i) => `${String(i.destination)}:${String((i.ports as { low: number }).low)}`).sort();

  test('changes are kept (exit 0, in order) and applied at the start before anything later; reads exit 1', async () => {
    for (const [i, args] of [add('10.0.0.1', 80), add('10.0.0.2', 81), del('10.0.0.1', 80), add('10.0.0.3', 82)].entries()) {
      const r = await diverter(args);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`kept in ${spoolDir()}`);
      // the first finds no agent; the next ones go after it without asking
      expect(r.stderr).toContain(i === 0 ? `agent not reachable at ${socket}` : 'after the calls kept before it');
    }
    expect(await kept()).toEqual(['00000000000000000001.call', '00000000000000000002.call', '00000000000000000003.call', '00000000000000000004.call']);
    expect(JSON.parse(await readFile(join(spoolDir(), '00000000000000000003.call'), 'utf8'))).toMatchObject({ program: 'bpfsteer-diverter', args: del('10.0.0.1', 80).split(' ') });
    const list = await diverter('-L');
    expect(list.code).toBe(1);
    expect(await kept()).toHaveLength(4); // a listing is never kept

    const { kernel } = await startSource(); // applies the kept calls before it serves changes from TCP or later calls
    expect(await kept()).toEqual([]);
    expect(ruleKeys(kernel)).toEqual(['10.0.0.2/32:81', '10.0.0.3/32:82']);
    expect(await diverter(add('10.0.0.4', 83))).toMatchObject({ code: 0, stderr: '' }); // reaches the agent now
    expect(ruleKeys(kernel)).toEqual(['10.0.0.2/32:81', '10.0.0.3/32:82', '10.0.0.4/32:83']);
  });

  test('a kept call refused for a reason that may pass (no running plugin) stays, with every call after it, until it applies', async () => {
    await diverter(add('10.0.1.1', 80));
    await diverter(add('10.0.1.2', 81));
    const kernel = fakeKernel();
    kernel.result = { ok: false, reason: 'unavailable', error: 'no running plugin consumes "tproxy.rule"' };
    await startSource({}, kernel);
    expect(await kept()).toHaveLength(2);
    // a call made now goes after them: kept too, and it asks the agent to try again
    kernel.result = ok;
    const r = await diverter(add('10.0.1.3', 82));
    expect(r).toMatchObject({ code: 0 });
    expect(r.stderr).toContain('the agent applies it after the calls kept before it');
    await vi.waitFor(async () => expect(await kept()).toEqual([]), { timeout: 10_000 });
    expect(ruleKeys(kernel)).toEqual(['10.0.1.1/32:80', '10.0.1.2/32:81', '10.0.1.3/32:82']);
  });

  test('a change the running agent cannot apply now (no running plugin) is kept too (exit 0) and applied once it can', async () => {
    const { kernel } = await startSource();
    // a refusal for good is the call's answer: exit 1, nothing kept
    kernel.result = { ok: false, reason: 'invalid', error: 'interface eth7 is not attached' };
    expect(await diverter(add('10.0.3.9', 89))).toMatchObject({ code: 1 });
    expect(await kept()).toEqual([]);
    kernel.result = { ok: false, reason: 'unavailable', error: 'no running plugin consumes "tproxy.rule"' };
    const r = await diverter(add('10.0.3.1', 80));
    expect(r).toMatchObject({ code: 0 });
    expect(r.stderr).toContain('no running plugin consumes');
    expect(r.stderr).toContain(`kept in ${spoolDir()}: the agent applies it as soon as it can`);
    expect(await kept()).toHaveLength(1);
    kernel.result = ok;
    expect(await diverter(add('10.0.3.2', 81))).toMatchObject({ code: 0 }); // after the kept one: kept too, and it asks for the drain
    await vi.waitFor(async () => expect(await kept()).toEqual([]), { timeout: 10_000 });
    expect(ruleKeys(kernel)).toEqual(['10.0.3.1/32:80', '10.0.3.2/32:81']);
  });

  test('a kept call the agent refuses for good is logged and dropped; a file that is not a call is renamed .bad; the rest applies', async () => {
    await diverter(add('10.0.2.1', 80));
    await diverter('-I -c 10.0.2.2 -m 33 -p tcp -l 1 -t 9'); // a usage error: kept unchecked, refused at the start
    await writeFile(join(spoolDir(), '00000000000000000003.call'), '{"program":"rm","args":["-rf"],"at":1}\n');
    await diverter(add('10.0.2.4', 82));
    const { kernel } = await startSource();
    expect(await kept()).toEqual([]);
    expect(await readdir(spoolDir())).toContain('00000000000000000003.call.bad');
    expect(ruleKeys(kernel)).toEqual(['10.0.2.1/32:80', '10.0.2.4/32:82']);
  });

  test('the built clients of both architectures run (the other one under qemu-user), -V without an agent', async () => {
    const triples = { x64: 'x86_64', arm64: 'aarch64' } as const;
    for (const target of ['x64', 'arm64'] as const) {
      const path = fileURLToPath(new URL(`../dist/native/linux-${target}/bpfsteer-diverter`, import.meta.url));
      expect(existsSync(path), `${path} (native/build.sh builds it when ${triples[target]}-linux-gnu-gcc is installed: scripts/setup.sh)`).toBe(true);
      const [file, argv] = target === arch() ? [path, ['-V']] : [`qemu-${triples[target]}-static`, [path, '-V']];
      const r = await new Promise<Run>((resolve) =>
        execFile(file, argv, { env: clientEnv() }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr })),
      );
      expect(r, target).toMatchObject({ code: 0 });
      expect(r.stdout).toMatch(/^bpfsteer-diverter \d+\.\d+\.\d+\S* \(native client\)\n$/);
      expect(r.stderr).toContain(`agent not reachable at ${socket}`);
    }
  });
});

describe('two services with the same rule tuple, as a router makes them (issue 10)', () => {
  beforeAll(() => void (client = nativeClient));
  afterAll(() => void (client = nodeCli));
  /** A service's TCP listener on 127.0.0.1 (the router opens one per service; its port is -t). */
  const listener = async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { port: (server.address() as { port: number }).port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  };
  const insert = (port: number, service: string) => `-I -c 10.7.7.0 -m 24 -p tcp -o 0.0.0.0 -n 0 -l 443 -h 443 -t ${port} -s ${service}`;
  const remove = '-D -c 10.7.7.0 -m 24 -p tcp -o 0.0.0.0 -n 0 -l 443 -h 443'; // the router's: no -s, no -t
  const inForce = (kernel: FakeKernel) => [...kernel.held.values()].map((i) => `${String(i.service)}:${String(i.tproxyPort)}`);

  test.each([['the newer', 'b'], ['the older', 'a']])('removing %s service (its listener closed first) keeps the other\'s interception', async (_n, gone) => {
    const { kernel } = await startSource();
    const a = await listener();
    const b = await listener();
    try {
      expect(await diverter(insert(a.port, 'a'))).toMatchObject({ code: 0 });
      expect(await diverter(insert(b.port, 'b'))).toMatchObject({ code: 0 });
      expect(inForce(kernel)).toEqual([`b:${b.port}`]); // the latest is in force
      const list = JSON.parse((await diverter('-L --json')).stdout);
      expect(list.rules[0].owners.map((o: { service: string }) => o.service)).toEqual(['a', 'b']);
      await (gone === 'b' ? b : a).close(); // what the router does before its -D
      expect(await diverter(remove)).toMatchObject({ code: 0 });
      const stays = gone === 'b' ? a : b;
      expect(inForce(kernel)).toEqual([`${gone === 'b' ? 'a' : 'b'}:${stays.port}`]);
      await stays.close();
      expect(await diverter(remove)).toMatchObject({ code: 0 }); // the last one: the rule goes
      expect(inForce(kernel)).toEqual([]);
      expect((await diverter(remove)).code).toBe(1); // nothing left
    } finally {
      await Promise.allSettled([a.close(), b.close()]);
    }
  });

  test('an IPv6 socket on [::1] at the port number of the closed IPv4 listener does not keep its wish (it cannot take IPv4)', async () => {
    const { kernel } = await startSource();
    const a = await listener();
    const b = await listener();
    const v6 = createServer(); // another service's listener of IPv6 that happens to have b's port number
    await new Promise<void>((resolve) => v6.listen(b.port, '::1', resolve));
    try {
      await diverter(insert(a.port, 'a'));
      await diverter(insert(b.port, 'b'));
      await b.close();
      expect(await diverter(remove)).toMatchObject({ code: 0 });
      expect(inForce(kernel)).toEqual([`a:${a.port}`]);
    } finally {
      await Promise.allSettled([a.close(), b.close(), new Promise((resolve) => v6.close(resolve))]);
    }
  });

  test('an IPv6 divert rule whose port only an IPv4 socket listens on (the router\'s listeners) is refused with exit 1, changing nothing', async () => {
    const { kernel } = await startSource();
    const v4 = await listener();
    try {
      const r = await diverter(`-I -c fd00:7::1 -m 128 -p tcp -o 0.0.0.0 -n 0 -l 443 -h 443 -t ${v4.port} -s v6svc`);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`fd00:7::1/128 is an IPv6 destination, but nothing of IPv6 listens on tcp port ${v4.port} here (only an IPv4 socket`);
      expect(kernel.held.size).toBe(0);
      expect(await diverter(`-I -c 10.7.7.1 -m 32 -p tcp -o 0.0.0.0 -n 0 -l 443 -h 443 -t ${v4.port} -s v4svc`)).toMatchObject({ code: 0 });
    } finally {
      await v4.close();
    }
    const v6 = createServer();
    await new Promise<void>((resolve) => v6.listen(0, '::1', resolve));
    try {
      const port = (v6.address() as { port: number }).port;
      expect(await diverter(`-I -c fd00:7::1 -m 128 -p tcp -o 0.0.0.0 -n 0 -l 443 -h 443 -t ${port} -s v6svc`)).toMatchObject({ code: 0 });
    } finally {
      await new Promise((resolve) => v6.close(resolve));
    }
  });

  test('a delete naming the service (-s) removes its wish whatever listens; with every listener up, a plain delete removes the rule', async () => {
    const { kernel } = await startSource();
    const a = await listener();
    const b = await listener();
    try {
      await diverter(insert(a.port, 'a'));
      await diverter(insert(b.port, 'b'));
      expect(await diverter(`${remove} -s b`)).toMatchObject({ code: 0 });
      expect(inForce(kernel)).toEqual([`a:${a.port}`]);
      await diverter(insert(b.port, 'b'));
      expect(await diverter(remove)).toMatchObject({ code: 0 }); // an operator's delete: both listen
      expect(inForce(kernel)).toEqual([]);
    } finally {
      await Promise.allSettled([a.close(), b.close()]);
    }
  });
});

describe('a router restart: the rules of services it did not insert again go after the grace period (issue 10)', () => {
  /** A router process (netlab's stand-in) running the native client: the client's caller, as the router is in the field. */
  function startRouter() {
    const router = startRouterStandIn({ diverter: join(dir, nativeClient.links, 'bpfsteer-diverter'), env: clientEnv() });
    return { run: (args: string) => router.run(args.split(' ')), stop: () => router.stop() };
  }
  const insert = (last: number, service: string) => `-I -c 10.8.0.${last} -m 32 -p tcp -o 0.0.0.0 -n 0 -l 443 -h 443 -t ${4000 + last} -s ${service}`;
  const services = (kernel: FakeKernel) => [...kernel.held.values()].map((i) => String(i.service)).sort();

  test('a new router inserts a and c again: b goes once the grace period passed; a and c are never out', async () => {
    const { kernel } = await startSource({ routerRestartGraceMs: 400 });
    const first = startRouter();
    expect(await first.run('-V')).toMatchObject({ code: 0 });
    for (const [last, service] of [[1, 'a'], [2, 'b'], [3, 'c']] as const) expect(await first.run(insert(last, service))).toMatchObject({ code: 0 });
    await first.stop(); // the router exits (it never flushes)
    const second = startRouter();
    try {
      expect(await second.run('-V')).toMatchObject({ code: 0 });
      expect(await second.run(insert(1, 'a'))).toMatchObject({ code: 0 });
      expect(await second.run(insert(3, 'c'))).toMatchObject({ code: 0 });
      expect(services(kernel)).toEqual(['a', 'b', 'c']); // within the grace period
      await vi.waitFor(() => expect(services(kernel)).toEqual(['a', 'c']), { timeout: 5000, interval: 50 });
    } finally {
      await second.stop();
    }
  });

  test('a person\'s -V while the router runs removes nothing', async () => {
    const { kernel } = await startSource({ routerRestartGraceMs: 200 });
    const router = startRouter();
    try {
      await router.run('-V');
      await router.run(insert(1, 'a'));
      expect(await diverter('-V')).toMatchObject({ code: 0 }); // from this test process, which inserts nothing
      await new Promise((r) => setTimeout(r, 600));
      expect(services(kernel)).toEqual(['a']);
    } finally {
      await router.stop();
    }
  });
});

test('the router config\'s listeners become pass rules (service router-config), kept in step with the file', async () => {
  await mkdir(testDir, { recursive: true });
  const routerConfig = join(testDir, 'router.yml');
  await writeFile(routerConfig, 'listeners:\n  - binding: edge\n    address: tls:0.0.0.0:3022\nlink:\n  listeners:\n    - bind: tls:0.0.0.0:10080\n');
  const { kernel } = await startSource({ routerConfig });
  const pass = () => [...kernel.held.values()].filter((i) => i.service === 'router-config').map((i) => `${String(i.action)} ${String((i.ports as { low: number }).low)}`).sort();
  expect(pass()).toEqual(['pass 10080', 'pass 3022']);
  expect((await diverter('-L')).stdout).toMatch(/PASSTHRU\s+tcp\s+0\.0\.0\.0\/0\s+0\.0\.0\.0\/0\s+dpts=3022:3022 .*router-config/);
  // the operator moves the link listener: replaced as the file changes (written anew, as tools do)
  await writeFile(`${routerConfig}.new`, 'listeners:\n  - binding: edge\n    address: tls:0.0.0.0:3022\nlink:\n  listeners:\n    - bind: tls:0.0.0.0:10081\n');
  await rename(`${routerConfig}.new`, routerConfig);
  await vi.waitFor(() => expect(pass()).toEqual(['pass 10081', 'pass 3022']), { timeout: 5000, interval: 50 });
  // a file that cannot be read keeps the rules
  await rm(routerConfig);
  await new Promise((r) => setTimeout(r, 500));
  expect(pass()).toEqual(['pass 10081', 'pass 3022']);
});

test('saved rules the agent refuses at start: the source serves anyway and health says so', async () => {
  const stateFile = join(dir, 'state-refused', 'rules.json');
  await mkdir(join(dir, 'state-refused'), { recursive: true });
  await writeFile(stateFile, '{"version":1,"rules":[{"destination":"10.0.0.0/8","source":"0.0.0.0/0","protocol":"tcp","ports":{"low":1,"high":1},"action":"pass","interfaces":["gone0"]}],"interfaces":{}}');
  const kernel = fakeKernel();
  kernel.result = { ok: false, reason: 'invalid', error: 'interface gone0 is not attached' };
  await startSource({ stateFile }, kernel);
  expect(kernel.commits).toHaveLength(1);
  const health = await agentRequest({ address: { kind: 'socket', path: socket } }, 'GET', '/v1/health');
  expect(health).toMatchObject({ status: 503, body: { ok: false, rules: 1, lastCommit: { ok: false, reason: 'invalid' } } });
  expect((await diverter('-V')).code).toBe(0);
});

test('at start the API answers at once: 503 until the saved rules are published; an insert sent meanwhile applies on top of them', async () => {
  const stateFile = join(dir, 'state-early', 'rules.json');
  const first = await startSource({ stateFile });
  await diverter('-I -c 10.7.0.0 -m 16 -p tcp -l 80 -h 80 -t 4000');
  await first.source.stop();
  running.splice(0);

  const kernel = fakeKernel();
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  kernel.commit.mockImplementationOnce(async (intents) => {
    kernel.commits.push(intents);
    await held; // the agent is slow to take the saved rules (plugins starting, adopting)
    return ok;
  });
  const source = createSource(zitiSourceConfigSchema.parse({ socket, stateFile, spool: join(dir, 'spool-early') }), kernel);
  kernel.running.add('tproxy.rule');
  const started = source.start({ publish: vi.fn(), commit: kernel.commit, publishChange: vi.fn(), commitChange: kernel.commitChange });
  running.push({ source, kernel, sink: {} as IntentSink });
  const agent = { address: { kind: 'socket' as const, path: socket } };
  let health: Awaited<ReturnType<typeof agentRequest>> | undefined;
  for (let i = 0; i < 500 && !health; i++) {
    health = await agentRequest(agent, 'GET', '/v1/health').catch(() => undefined);
    if (!health) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect(health).toMatchObject({ status: 503, body: { ok: false, applied: false } });
  const insert = agentRequest(agent, 'POST', '/v1/rules', { destination: '10.8.0.0/16', protocol: 'tcp', ports: { low: 443 }, tproxyPort: 4000 });
  // the saved rules reach the kernel (however slow the machine), the insert meanwhile waits for them
  await vi.waitFor(() => expect(kernel.commits).toHaveLength(1), { timeout: 10_000 });
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(kernel.commits).toHaveLength(1);
  release();
  await started;
  expect(await insert).toMatchObject({ status: 200, body: { outcome: 'created' } });
  expect(kernel.commits[1].map((i) => (i as unknown as { destination: string }).destination).sort()).toEqual(['10.7.0.0/16', '10.8.0.0/16']);
  expect(await agentRequest(agent, 'GET', '/v1/health')).toMatchObject({ status: 200, body: { ok: true, loading: false, rules: 2 } });
});

describe('the socket path', () => {
  test('a live socket is not replaced', async () => {
    await startSource();
    await expect(startSource()).rejects.toMatchObject({ code: 'ERR_ZITI_SOCKET', message: expect.stringContaining('another agent is running (it answers on this socket)') });
    expect((await diverter('-V')).code).toBe(0);
  });

  test('a non-socket is not replaced; a stale socket is', async () => {
    const file = join(dir, 'plain-file');
    await writeFile(file, 'keep me');
    await expect(startSource({ socket: file })).rejects.toMatchObject({ message: expect.stringContaining('is not a socket') });
    expect(await readFile(file, 'utf8')).toBe('keep me');

    const stale = join(dir, 'stale.sock');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(stale, resolve));
    // leave the file behind as a crashed process would
    const { unlinkSync, linkSync } = await import('node:fs');
    linkSync(stale, `${stale}.keep`);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    linkSync(`${stale}.keep`, stale);
    unlinkSync(`${stale}.keep`);
    expect((await stat(stale)).isSocket()).toBe(true);
    await startSource({ socket: stale });
    expect((await diverter('-V', { BPFSTEER_ZITI_SOCKET: stale })).code).toBe(0);
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('TCP with a bearer token', () => {

  test('the token file must not be world-readable', async () => {
    const tokenFile = join(dir, 'token-open');
    await writeFile(tokenFile, 'a-token-of-enough-length\n');
    await chmod(tokenFile, 0o644);
    await expect(startSource({ tcp: { port: await freePort(), tokenFile } })).rejects.toMatchObject({ code: 'ERR_ZITI_TOKEN_FILE' });
  });

  test('the CLI reaches the TCP listener with --url and --token-file', async () => {
    const tokenFile = join(dir, 'token');
    await mkdir(dir, { recursive: true });
    await writeFile(tokenFile, 'a-token-of-enough-length\n', { mode: 0o600 });
    const port = await freePort();
    await startSource({ tcp: { port, tokenFile } });
    const url = `http://127.0.0.1:${port}`;
    expect((await diverter(`-V --url ${url} --token-file ${tokenFile}`)).code).toBe(0);
    const wrong = await diverter(`-V --url ${url}`, { BPFSTEER_ZITI_TOKEN: 'wrong-token-of-some-length' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('bearer token');
    expect((await diverter(`-I -c 10.0.0.1 -p tcp -l 1 -t 2 --url ${url}`, { BPFSTEER_ZITI_TOKEN: 'a-token-of-enough-length' })).code).toBe(0);
  });
});

describe("POST /v1/diverter's fast lane on the unix socket answers as the route does (the TCP listener has no lane)", () => {
  /** One HTTP/1.0 request as the native client sends it; the whole answer once the agent closes the connection. */
  function raw(connect: () => Socket, body: string, type = 'application/json', auth = ''): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const conn = connect();
      let answer = '';
      conn.on('data', (d: Buffer) => (answer += d.toString()));
      conn.on('error', reject);
      conn.on('close', () => {
        const at = answer.indexOf('\r\n\r\n');
        resolve({ status: Number(/^HTTP\/1\.[01] (\d+)/.exec(answer)?.[1]), body: answer.slice(at + 4) });
      });
      conn.write(`POST /v1/diverter HTTP/1.0\r\nHost: agent\r\nContent-Type: ${type}\r\n${auth}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    });
  }
  const call = (args: string[], extra = '') => `{"program":"bpfsteer-diverter","args":${JSON.stringify(args)}${extra}}`;
  const insert = (service: string) => call(['-I', '-c', '10.0.0.7', '-m', '32', '-p', 'tcp', '-l', '80', '-h', '80', '-t', '9000', '-s', service]);
  const refused: [string, string, string, number, string][] = [
    ['malformed JSON', '{"program":', 'application/json', 400, 'ERR_BAD_REQUEST'],
    ['an unknown key', call(['-L'], ',"extra":1'), 'application/json', 400, 'ERR_VALIDATION'],
    ['a __proto__ key', call(['-L'], ',"__proto__":{"x":1}'), 'application/json', 400, 'ERR_BAD_REQUEST'],
    ['a wrong type', '{"program":"bpfsteer-diverter","args":[1]}', 'application/json', 400, 'ERR_VALIDATION'],
    ['another content type', insert('a'), 'text/plain', 415, 'ERR_UNSUPPORTED_MEDIA_TYPE'],
  ];

  test.each(refused)('%s: the same refusal on both listeners; nothing changes', async (_what, body, type, status, code) => {
    const tokenFile = join(testDir, 'token');
    await mkdir(testDir, { recursive: true });
    await writeFile(tokenFile, 'a-token-of-enough-length\n', { mode: 0o600 });
    const port = await freePort();
    const { kernel } = await startSource({ tcp: { port, tokenFile } });
    const commits = kernel.commits.length;
    const lane = await raw(() => createConnection(socket), body, type);
    const route = await raw(() => createConnection(port, '127.0.0.1'), body, type, 'Authorization: Bearer a-token-of-enough-length\r\n');
    expect(lane.status).toBe(status);
    expect(JSON.parse(lane.body)).toMatchObject({ error: { code } });
    expect(lane).toEqual(route);
    expect(kernel.commits.length).toBe(commits);
  });

  test('a call runs through the lane; one the lane leaves to fastify (a "constructor" in an argument) runs all the same', async () => {
    const { kernel } = await startSource();
    expect(laneCall(insert('a'))).toMatchObject({ program: 'bpfsteer-diverter' });
    expect(laneCall(insert('constructor'))).toBeUndefined();
    const created = await raw(() => createConnection(socket), insert('a'));
    expect(created).toMatchObject({ status: 200, body: expect.stringMatching(/^o \d+\nrule created: .*\nx 0\n$/) });
    const shared = await raw(() => createConnection(socket), insert('constructor'));
    expect(shared).toMatchObject({ status: 200, body: expect.stringMatching(/\nx 0\n$/) });
    expect(kernel.commits.at(-1)).toEqual([expect.objectContaining({ kind: 'tproxy.rule', destination: '10.0.0.7/32', tproxyPort: 9000 })]);
  });
});

describe('a damaged state file at start (issue 9 item 7a)', () => {
  const good = '{"version":1,"rules":[{"destination":"10.0.0.0/8","source":"0.0.0.0/0","protocol":"tcp","ports":{"low":1,"high":1},"action":"pass","interfaces":[]}],"interfaces":{}}\n';
  const put = (n: number) => `{"put":[{"destination":"10.${n}.0.0/16","source":"0.0.0.0/0","protocol":"udp","ports":{"low":53,"high":53},"action":"pass","interfaces":[]}]}\n`;

  test.each<[string, string, string, RegExp]>([
    ['a truncated snapshot', good.slice(0, 70), put(1), /rules\.json is not JSON \(fix or remove it\): (.*line 1 column \d+|it ends early at byte 70)/],
    ['a journal with garbage in the middle', good, `${put(1)}garbage\n${put(2)}`, /rules\.json\.journal line 2 \(byte \d+\) is not JSON/],
    ['a snapshot of another version', good.replace('"version":1', '"version":7'), '', /rules\.json is invalid.*\n\s+version: version must be 1/],
  ])('%s: start rejects naming the file and the problem, publishes nothing, leaves the files as they are', async (_n, snapshot, journal, message) => {
    const stateDir = await mkdtemp(join(dir, 'damaged-'));
    const stateFile = join(stateDir, 'rules.json');
    await writeFile(stateFile, snapshot);
    if (journal) await writeFile(`${stateFile}.journal`, journal);
    const kernel = fakeKernel();
    const publish = vi.fn();
    const source = createSource(zitiSourceConfigSchema.parse({ socket, stateFile, spool: join(dir, 'spool-early') }), kernel);
    await expect(source.start({ publish, commit: kernel.commit, publishChange: vi.fn(), commitChange: kernel.commitChange })).rejects.toMatchObject({
      code: 'ERR_ZITI_STATE_FILE',
      message: expect.stringMatching(message),
    });
    expect(kernel.commit).not.toHaveBeenCalled();
    expect(publish).not.toHaveBeenCalled();
    expect(await readFile(stateFile, 'utf8')).toBe(snapshot);
    expect(await readdir(stateDir)).toEqual(journal ? ['rules.json', 'rules.json.journal'] : ['rules.json']);
    if (journal) expect(await readFile(`${stateFile}.journal`, 'utf8')).toBe(journal);
    expect(existsSync(socket)).toBe(false); // no API either
  });

  test('a torn last journal line (a crash mid-append) is dropped: the start publishes the complete records', async () => {
    const stateDir = await mkdtemp(join(dir, 'torn-'));
    const stateFile = join(stateDir, 'rules.json');
    await writeFile(stateFile, good);
    await writeFile(`${stateFile}.journal`, `${put(1)}${put(2).slice(0, 30)}`);
    const { kernel } = await startSource({ stateFile });
    expect(kernel.commits).toHaveLength(1);
    expect(kernel.commits[0].map((i) => (i as { destination?: string }).destination).sort()).toEqual(['10.0.0.0/8', '10.1.0.0/16']);
  });
});

describe('HTTP time-outs (issue 9 item 7b)', () => {
  const http = { headersTimeoutMs: 300, requestTimeoutMs: 600, keepAliveTimeoutMs: 400 };

  /** Sends `text` and resolves with the ms until the server closes the connection (or 'open' after `max` ms). */
  function closedAfter(connect: () => Socket, text: string, max = 5000): Promise<{ ms: number | 'open'; answer: string }> {
    return new Promise((resolve) => {
      const started = Date.now();
      const conn = connect();
      let answer = '';
      conn.on('data', (d: Buffer) => (answer += d.toString()));
      conn.on('error', () => undefined);
      const timer = setTimeout(() => {
        conn.destroy();
        resolve({ ms: 'open', answer });
      }, max);
      conn.on('close', () => {
        clearTimeout(timer);
        resolve({ ms: Date.now() - started, answer });
      });
      conn.write(text);
    });
  }
  const body = '{"destination":"10.0.0.1/32","protocol":"tcp","ports":{"low":1},"tproxyPort":9}';
  const halfBody = `POST /v1/rules HTTP/1.1\r\nHost: agent\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 20)}`;
  const halfHeaders = 'POST /v1/rules HTTP/1.1\r\nHost: agent\r\nContent-Type: appl';
  const whole = `GET /v1/version HTTP/1.1\r\nHost: agent\r\n\r\n`;

  test('unix socket: half a body is cut at the request time-out, half the headers at the headers time-out, an idle keep-alive at its time-out', async () => {
    const { kernel } = await startSource({ http });
    const unix = () => createConnection(socket);
    const partialBody = await closedAfter(unix, halfBody);
    expect(partialBody.ms).not.toBe('open');
    expect(partialBody.ms).toBeGreaterThanOrEqual(500);
    expect(partialBody.ms).toBeLessThan(600 + 2500);
    expect(partialBody.answer).toMatch(/^HTTP\/1\.1 408/);
    const partialHeaders = await closedAfter(unix, halfHeaders);
    expect(partialHeaders.ms).not.toBe('open');
    expect(partialHeaders.ms).toBeGreaterThanOrEqual(250);
    expect(partialHeaders.ms).toBeLessThan(300 + 2500);
    const idle = await closedAfter(unix, whole);
    expect(idle.answer).toMatch(/^HTTP\/1\.1 200/);
    expect(idle.ms).not.toBe('open');
    expect(idle.ms).toBeLessThan(400 + 2500);
    expect(kernel.commit).toHaveBeenCalledTimes(1); // the start's; nothing from the cut requests
  });

  test('TCP: half a body is cut at the request time-out', async () => {
    const tokenFile = join(dir, 'token-timeouts');
    await writeFile(tokenFile, 'a-token-of-enough-length\n', { mode: 0o600 });
    const port = await freePort();
    await startSource({ http, tcp: { port, tokenFile } });
    const authed = halfBody.replace('Host: agent\r\n', 'Host: agent\r\nAuthorization: Bearer a-token-of-enough-length\r\n');
    const cut = await closedAfter(() => createConnection(port, '127.0.0.1'), authed);
    expect(cut.ms).not.toBe('open');
    expect(cut.ms).toBeLessThan(600 + 2500);
  });

  test('the defaults: headers 10 s, request 30 s, keep-alive 5 s, body 32 MiB; headers may not outlast the request', () => {
    expect(zitiSourceConfigSchema.parse({}).http).toEqual({ headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000, maxBodyBytes: 32 * 1024 * 1024 });
    const wrong = zitiSourceConfigSchema.safeParse({ http: { headersTimeoutMs: 5000, requestTimeoutMs: 1000 } });
    expect(wrong.success).toBe(false);
    expect(wrong.error?.issues[0]).toMatchObject({ path: ['http', 'headersTimeoutMs'], message: expect.stringContaining('requestTimeoutMs') });
  });
});

test('health stays 200 after refused requests; lastError keeps the last refused commit (issue 9 item 7d)', async () => {
  const { kernel } = await startSource();
  kernel.running.add('tproxy.rule');
  const health = () => agentRequest({ address: { kind: 'socket', path: socket } }, 'GET', '/v1/health');
  expect(await health()).toMatchObject({ status: 200, body: { ok: true, lastError: null } });
  expect((await diverter('-I -c 10.0.0.16 -m 33 -p tcp -l 22 -h 22 -t 1')).code).toBe(2); // never reaches the agent
  kernel.result = { ok: false, reason: 'invalid', error: 'interface eth7 is not attached' };
  expect((await diverter('-I -c 10.0.0.1 -p tcp -l 1 -t 9 -N eth7')).code).toBe(1);
  expect(await health()).toMatchObject({ status: 200, body: { ok: true, lastError: { reason: 'invalid', error: 'interface eth7 is not attached' } } });
});
