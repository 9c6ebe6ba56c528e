/**
 * The built `bpfsteer` binary, spawned like a user would (run `npx tsup` in apps/agent first; nx's
 * test target depends on the build).
 */
import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { access, lstat, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { bin, type BpfsteerResult, spawnBpfsteer, type SpawnedBpfsteer } from './support/spawn-bpfsteer.js';

// every test spawns the CLI (a Node process loading every builtin plugin and source) several times
vi.setConfig({ testTimeout: 30_000 });

let dir: string;
const children: ChildProcess[] = [];
type Result = BpfsteerResult;

function bpfsteer(args: string[]): SpawnedBpfsteer {
  return spawnBpfsteer(args, children);
}

const run = (...args: string[]): Promise<Result> => bpfsteer(args).done;

async function writeConfig(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

async function waitFor(path: string, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      await access(path);
      return;
    } catch {
      if (Date.now() > until) throw new Error(`${path} did not appear within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

beforeAll(async () => {
  await access(bin).catch(() => {
    throw new Error(`${bin} is missing: build apps/agent first (npx tsup)`);
  });
  dir = await mkdtemp(join(tmpdir(), `bpfsteer-cli-test-${process.pid}-`));
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('bpfsteer validate', () => {
  it('exits 0 for a valid config', async () => {
    const path = await writeConfig('good.yaml', 'agent: { logLevel: debug }\nsources: [{ type: static }]\n');
    const r = await run('validate', '-c', path);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toBe(`${path}: valid (plugins: none; sources: static#0)\n`);
  });

  it('accepts the router host\'s config of packaging/systemd (agent.yaml)', async () => {
    const path = fileURLToPath(new URL('../../../packaging/systemd/agent.yaml', import.meta.url));
    const r = await run('validate', '-c', path);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toBe(`${path}: valid (plugins: tc-tproxy; sources: ziti#0)\n`);
  });

  it('exits 1 listing every problem with its path', async () => {
    const path = await writeConfig(
      'bad.yaml',
      'agent: { logLevel: loud, timeouts: { openMs: -1 } }\nplugins: [{ id: tc-nexthpo }]\nsources: [{ type: kafka }]\n',
    );
    const r = await run('validate', '-c', path);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')).toEqual([
      `invalid config ${path}:`,
      '  agent.logLevel: "loud" is not accepted; accepted: "fatal", "error", "warn", "info", "debug", "trace", "silent"',
      '  agent.timeouts.openMs: Too small: expected number to be >=1 (got -1)',
      expect.stringMatching(/^ {2}plugins\[0\]\.id: unknown plugin "tc-nexthpo"; known: /),
      '  sources[0].type: unknown source type "kafka"; known: static, ziti, istiod, tunnel',
      '',
    ]);
  });

  it('exits 1 for an unreadable file and for broken YAML', async () => {
    const missing = await run('validate', '-c', join(dir, 'nope.yaml'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot read the file: ENOENT');
    const path = await writeConfig('broken.yaml', 'agent: { pinRoot: /x\n');
    const broken = await run('validate', '-c', path);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/invalid YAML: line \d+, column \d+/);
  });

  it('exits 1 when the ziti source API socket is the admin socket, naming both owners', async () => {
    const path = await writeConfig(
      'same-socket.yaml',
      'agent: { adminSocket: /run/bpfsteer/agent.sock }\nsources:\n  - { type: ziti, socket: /run/bpfsteer/agent.sock }\n',
    );
    const r = await run('validate', '-c', path);
    expect(r).toMatchObject({ code: 1, stdout: '' });
    expect(r.stderr).toBe(
      `invalid config ${path}:\n` +
        "  sources[0].socket: /run/bpfsteer/agent.sock is claimed by both the agent's admin socket (agent.adminSocket) " +
        'and the API socket of source ziti#0; give each its own path\n',
    );
  });

  it('exits 1 at once for a FIFO, a device and an alias bomb', async () => {
    const fifo = join(dir, 'fifo.yaml');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const zero = join(dir, 'zero.yaml');
    await symlink('/dev/zero', zero);
    let bomb = 'x0: &x0 [a, a, a, a, a, a, a, a, a, a]\n';
    for (let i = 1; i <= 9; i++) bomb += `x${i}: &x${i} [${Array(10).fill(`*x${i - 1}`).join(', ')}]\n`;
    const bombPath = await writeConfig('bomb.yaml', bomb);
    const [r1, r2, r3] = await Promise.all([run('validate', '-c', fifo), run('validate', '-c', zero), run('validate', '-c', bombPath)]);
    expect(r1).toMatchObject({ code: 1, stderr: `invalid config ${fifo}:\n  cannot read the file: it is a FIFO (named pipe), not a regular file\n` });
    expect(r2).toMatchObject({ code: 1, stderr: `invalid config ${zero}:\n  cannot read the file: it is a character device, not a regular file\n` });
    expect(r3.code).toBe(1);
    expect(r3.stderr).toContain('invalid YAML: too many alias expansions');
  });

  it('exits 2 on usage errors', async () => {
    expect((await run('validate')).code).toBe(2);
    const unknown = await run('validate', '-c', 'x.yaml', '--bogus');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--bogus'");
    expect((await run('frobnicate')).code).toBe(2);
    expect((await run('--help')).code).toBe(0);
  });
});

describe('bpfsteer status', () => {
  it('exits 1 with a clear message when no agent answers', async () => {
    const socket = join(dir, 'absent.sock');
    const r = await run('status', '--socket', socket);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`bpfsteer: no agent answers on ${socket}: the socket does not exist (is \`bpfsteer run\` running?)\n`);
  });
});

describe('bpfsteer health', () => {
  it('exits 1 when no agent answers, also with --alive', async () => {
    const socket = join(dir, 'absent-health.sock');
    for (const args of [[], ['--alive']]) {
      const r = await run('health', '--socket', socket, ...args);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`no agent answers on ${socket}`);
    }
  });
});

describe('bpfsteer run', () => {
  it('exits 2 on an invalid config', async () => {
    const path = await writeConfig('run-bad.yaml', 'agent: { adminSocket: relative.sock }\n');
    const r = await run('run', '-c', path);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('agent.adminSocket');
  });

  it('runs, answers status, reloads on SIGHUP, shuts down cleanly on SIGTERM', async () => {
    const socket = join(dir, 'run', 'agent.sock');
    const path = await writeConfig('run.yaml', `agent: { adminSocket: ${socket} }\nsources: [{ type: static }]\n`);
    const agent = bpfsteer(['run', '-c', path]);
    await waitFor(socket);
    expect((await lstat(socket)).mode & 0o777).toBe(0o600);

    const table = await run('status', '--socket', socket);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^agent pid \d+ running, since .*, config .*run\.yaml\n/);
    expect(table.stdout).toMatch(/SOURCE\s+STATE\s+INTENTS\s+LAST SNAPSHOT\nstatic#0\s+running\s+0 /);

    const json = await run('status', '--socket', socket, '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ agent: { state: 'running', configPath: path }, plugins: [] });

    // the probes' command (a Kubernetes exec probe cannot reach a unix socket)
    const health = await run('health', '--socket', socket);
    expect(health.code).toBe(0);
    expect(JSON.parse(health.stdout)).toMatchObject({ ok: true, state: 'running', failedPlugins: [] });
    expect((await run('health', '--socket', socket, '--alive')).code).toBe(0);

    // a second agent on the same socket refuses to start
    const second = await run('run', '-c', path);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('another agent is running');

    agent.child.kill('SIGHUP');
    // signals sent back to back may be handled in either order: let the reload start first
    for (const until = Date.now() + 10_000; !agent.stderr().includes('reloading sources') && Date.now() < until; ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    agent.child.kill('SIGTERM');
    const r = await agent.done;
    expect(r.code).toBe(0);
    const logs = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; level: string });
    expect(logs.map((l) => l.msg)).toEqual(
      expect.arrayContaining(['agent running', 'reloading sources', 'shutting down', 'agent stopped']),
    );
    await expect(lstat(socket)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
