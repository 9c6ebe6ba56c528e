/**
 * Kernel-free integration: the ziti source started on a temp unix socket with a fake sink, driven
 * by the real built CLI (dist/diverter.js, spawned with node) with the contract's argument vectors.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import type { IntentSink, IntentSource } from '@bpfsteer/agent-kernel';
import { zitiSource, zitiSourceConfigSchema, type ZitiSourceConfigInput } from '../src/index.js';
import { agentRequest } from '../src/diverter/agent-client.js';
import { fakeKernel, type FakeKernel } from './fake-kernel.js';

vi.setConfig({ testTimeout: 30_000 });

const bin = fileURLToPath(new URL('../dist/diverter.js', import.meta.url));
let dir: string;
let socket: string;

beforeAll(async () => {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: build the package first (npx tsup)`);
  dir = await mkdtemp(join(tmpdir(), `ziti-src-${process.pid}-`));
  socket = join(dir, 'run', 'ziti.sock');
  await symlink(bin, join(dir, 'map_update'));
  await symlink(bin, join(dir, 'map_delete'));
  await symlink(bin, join(dir, 'bpfsteer-diverter'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

interface Running {
  source: IntentSource;
  kernel: FakeKernel;
  sink: IntentSink;
}
const running: Running[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.source.stop();
});

async function startSource(config: Partial<ZitiSourceConfigInput> = {}, kernel = fakeKernel()): Promise<Running> {
  const parsed = zitiSourceConfigSchema.parse({ socket, stateFile: join(dir, 'state', 'rules.json'), ...config });
  const source = zitiSource.create(parsed, {
    logger: pino({ level: 'silent' }),
    signal: new AbortController().signal,
    intentSchemas: new Map(),
    describe: kernel.context.describe,
    watch: kernel.context.watch,
  });
  const sink: IntentSink = { publish: vi.fn(), commit: kernel.commit };
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

function run(program: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(dir, program), ...args], { env: { PATH: process.env.PATH, BPFSTEER_ZITI_SOCKET: socket, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}
const diverter = (args: string, env?: Record<string, string>) => run('bpfsteer-diverter', args.split(' '), env);

describe('the ziti router contract through the real CLI', () => {
  test('socket 0600 in a 0700 directory; -V; insert per interface; list; delete; exit codes', async () => {
    const { kernel } = await startSource();
    expect((await stat(socket)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'run'))).mode & 0o777).toBe(0o700);

    const version = await diverter('-V');
    expect(version).toMatchObject({ code: 0 });
    expect(version.stdout).toMatch(/^bpfsteer-diverter \S+ \(agent @bpfsteer\/source-ziti \S+, API v1\)/);

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
    expect(bad.stderr).toContain('0..32');
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
    const child = spawn(process.execPath, [join(dir, 'bpfsteer-diverter'), '-M'], { env: { BPFSTEER_ZITI_SOCKET: socket } });
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

  test('after stop: -V exits non-zero with "agent not reachable at <socket>"; the socket is gone', async () => {
    const r = await startSource();
    await r.source.stop();
    running.splice(running.indexOf(r), 1);
    expect(existsSync(socket)).toBe(false);
    const res = await diverter('-V');
    expect(res.code).toBe(1);
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
    expect(JSON.parse(await readFile(join(dir, 'state', 'rules.json'), 'utf8'))).toMatchObject({ version: 1, rules: [{ destination: '10.9.0.0/16' }] });
    await diverter('-F');
    await diverter('-e lo'); // unchanged
  });
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

describe('TCP with a bearer token', () => {
  async function freePort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
  }

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
