/**
 * Taking over from a running agent, piece by piece: a unix socket path replaced atomically
 * (listenUnixSocket), the admin API's /v1/handover, and PreviousAgent against a real process that
 * hands over and exits. The whole handover of two `bpfsteer run` processes is proven end to end in
 * apps/agent's ziti-router.kernel.test.ts.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { lstat, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminRequest } from '../src/admin-request.js';
import { type AdminHandlers, AdminServer } from '../src/admin-server.js';
import { AdminSocketInUseError, AgentStateError } from '../src/errors.js';
import { listenUnixSocket } from '../src/listen-unix-socket.js';
import { PreviousAgent } from '../src/previous-agent.js';
import { captureLogger } from './fakes.js';

let dir: string;
const cleanups: (() => unknown)[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), `bpfsteer-handover-test-${process.pid}-`));
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await rm(dir, { recursive: true, force: true });
});

/** A net server answering each connection with `name` (then closing it), listening through listenUnixSocket. */
async function namedServer(path: string, name: string, takeOver = false) {
  const server = createServer((c) => {
    c.on('error', () => {}); // (a liveness probe hangs up at once)
    c.end(name);
  });
  const socket = await listenUnixSocket(path, (temp) => new Promise<void>((resolve) => server.listen(temp, resolve)), {
    refuse: (detail) => new Error(detail),
    takeOver,
  });
  const close = async () => {
    await new Promise((resolve) => server.close(resolve));
    await socket.release();
  };
  cleanups.push(close);
  return { server, socket, close };
}

function whoAnswers(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const c = createConnection({ path });
    c.on('data', (d: Buffer) => (text += d.toString()));
    c.on('end', () => resolve(text));
    c.on('error', (err: NodeJS.ErrnoException) => reject(err));
  });
}

describe('listenUnixSocket', () => {
  it('binds 0600 under a temporary name and renames it into place (nothing else left in the directory)', async () => {
    const path = join(dir, 'run', 'api.sock');
    const { socket } = await namedServer(path, 'one');
    expect(socket.replaced).toBe('nothing');
    expect((await lstat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(join(dir, 'run'))).toEqual(['api.sock']);
    expect(await whoAnswers(path)).toBe('one');
  });

  it('refuses a live socket, takes it over when asked; the old one then leaves the path alone at close', async () => {
    const path = join(dir, 'api.sock');
    const old = await namedServer(path, 'old');
    await expect(namedServer(path, 'new')).rejects.toThrow(/another process is running/);
    expect(await whoAnswers(path)).toBe('old');
    expect(await old.socket.holds()).toBe(true);
    const taking = await namedServer(path, 'new', true);
    expect(taking.socket.replaced).toBe('live');
    expect(await whoAnswers(path)).toBe('new');
    expect(await old.socket.holds()).toBe(false); // the path is the new one's now
    expect(await taking.socket.holds()).toBe(true);
    await old.close(); // its release does not remove the new agent's socket
    expect(await whoAnswers(path)).toBe('new');
    await taking.close();
    await expect(lstat(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('replaces a stale socket file and never a non-socket', async () => {
    const path = join(dir, 'api.sock');
    // what a killed process leaves: the socket file, with nothing listening
    const crashed = spawnSync(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    expect(crashed.signal).toBe('SIGKILL');
    expect((await namedServer(path, 'new')).socket.replaced).toBe('stale');
    const file = join(dir, 'file');
    await writeFile(file, 'data');
    await expect(namedServer(file, 'x', true)).rejects.toThrow(/not a socket; refusing to replace it/);
  });
});

describe('admin API /v1/handover', () => {
  async function admin(state: string | undefined) {
    const calls: string[] = [];
    const handlers: AdminHandlers = {
      status: () => ({}),
      health: () => ({ ok: true }),
      handoverState: () => state,
      handOver: () => calls.push('handOver'),
    };
    const socket = join(dir, 'agent.sock');
    const server = await AdminServer.listen(socket, handlers, captureLogger().logger);
    cleanups.push(() => server.close());
    return { socket, calls };
  }

  it('GET says whether the agent can hand over; POST answers 202, then starts the handover once', async () => {
    const { socket, calls } = await admin('running');
    expect(await adminRequest(socket, '/v1/handover')).toEqual({ status: 200, body: { pid: process.pid, state: 'running' } });
    expect(calls).toEqual([]);
    const answer = await fetchUnix(socket, 'POST', '/v1/handover');
    expect(answer).toMatchObject({ status: 202, body: { pid: process.pid, stopping: true, keepPinned: true } });
    expect(calls).toEqual(['handOver']);
    expect((await fetchUnix(socket, 'PUT', '/v1/handover')).status).toBe(405);
  });

  it('an agent stopping already refuses (409)', async () => {
    const { socket, calls } = await admin(undefined);
    expect((await adminRequest(socket, '/v1/handover')).status).toBe(409);
    expect((await fetchUnix(socket, 'POST', '/v1/handover')).status).toBe(409);
    expect(calls).toEqual([]);
  });

  it('takes the socket of a running admin API over only when asked', async () => {
    await admin('running');
    const socket = join(dir, 'agent.sock');
    const handlers: AdminHandlers = { status: () => ({ second: true }), health: () => ({ ok: true }), handoverState: () => 'starting', handOver: () => {} };
    await expect(AdminServer.listen(socket, handlers, captureLogger().logger)).rejects.toThrow(AdminSocketInUseError);
    const second = await AdminServer.listen(socket, handlers, captureLogger().logger, { takeOver: true });
    cleanups.push(() => second.close());
    expect((await adminRequest(socket, '/v1/status')).body).toEqual({ second: true });
  });
});

/** A request with a method other than GET (adminRequest only GETs). */
async function fetchUnix(socketPath: string, method: string, path: string): Promise<{ status: number; body: unknown }> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * A process standing in for a running agent: it answers GET /v1/handover with its pid and, on
 * POST, 202, then exits after `exitAfterMs` (an agent stopping); `refuse`: it answers 404 (an agent
 * without handover).
 */
const STAND_IN = String.raw`
const [socket, exitAfterMs, refuse] = process.argv.slice(1);
const srv = require('node:http').createServer((req, res) => {
  if (refuse === '1') { res.writeHead(404); res.end('{"error":"no such endpoint"}'); return; }
  const send = (status, body) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); };
  if (req.method === 'GET') return send(200, { pid: process.pid, state: 'running' });
  send(202, { pid: process.pid, stopping: true });
  setTimeout(() => process.exit(0), Number(exitAfterMs));
});
srv.listen(socket, () => console.log('ready'));
`;

async function standIn(socket: string, exitAfterMs: number, refuse = false): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', STAND_IN, socket, String(exitAfterMs), refuse ? '1' : '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(() => child.exitCode === null && child.kill('SIGKILL'));
  await new Promise((resolve) => child.stdout!.once('data', resolve));
  return child;
}

describe('PreviousAgent', () => {
  it('finds nothing where no agent answers', async () => {
    expect(await PreviousAgent.find(join(dir, 'none.sock'))).toBeUndefined();
  });

  it('asks on the connection it opened before the path was taken over, and waits for the exit', async () => {
    const socket = join(dir, 'agent.sock');
    const child = await standIn(socket, 150);
    const previous = await PreviousAgent.find(socket);
    expect(previous?.pid).toBe(child.pid);
    // the path belongs to this agent now: the handover still reaches the old one
    await namedServer(socket, 'new', true);
    await previous!.handOver(10_000);
    expect(child.exitCode ?? child.signalCode).not.toBeNull();
  });

  it('refuses an agent that cannot hand over, and one that does not exit in time', async () => {
    const socket = join(dir, 'agent.sock');
    await standIn(socket, 0, true);
    await expect(PreviousAgent.find(socket)).rejects.toThrow(/cannot take over from the agent on .*: it answered 404/);

    const other = join(dir, 'slow.sock');
    const child = await standIn(other, 60_000);
    const previous = await PreviousAgent.find(other);
    const err = await previous!.handOver(200).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentStateError);
    expect((err as Error).message).toBe(`the agent (pid ${child.pid}) did not exit within 200 ms of handing over; it may still hold the pins`);
  });
});
