import { spawnSync } from 'node:child_process';
import { lstat, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { adminRequest } from '../src/admin-request.js';
import type { Agent } from '../src/agent.js';
import { type AdminHandlers, AdminServer } from '../src/admin-server.js';
import { createAgent } from '../src/create-agent.js';
import { AdminSocketInUseError, AgentUnavailableError } from '../src/errors.js';
import { captureLogger, fakePlugin, fakeSource } from './fakes.js';

let dir: string;
let agents: Agent[];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), `bpfsteer-admin-test-${process.pid}-`));
  agents = [];
});
afterEach(async () => {
  for (const a of agents) await a.stop();
  await rm(dir, { recursive: true, force: true });
});

function agentOn(socket: string, opts: { failing?: boolean } = {}) {
  const journal: string[] = [];
  const plugins = [
    fakePlugin('pa', journal, { intents: { 'a.kind': z.looseObject({}) } }),
    ...(opts.failing ? [fakePlugin('pb', journal, { fail: ['open'] })] : []),
  ];
  const { logger, records } = captureLogger();
  const agent = createAgent({
    plugins,
    sources: [fakeSource(journal)],
    logger,
    config: {
      agent: { adminSocket: socket, timeouts: { openMs: 200, applyMs: 200, closeMs: 200 } },
      plugins: plugins.map((p) => ({ id: p.id })),
      sources: [{ type: 'fake', name: 's', initial: [{ kind: 'a.kind' }] }],
    },
    configPath: '/etc/bpfsteer/agent.yaml',
  });
  agents.push(agent);
  return { agent, records };
}

describe('admin API', () => {
  it('listens on a 0600 socket in a 0700 directory and serves status and health', async () => {
    const socket = join(dir, 'run', 'agent.sock');
    const { agent } = agentOn(socket);
    await agent.start();
    expect((await lstat(socket)).isSocket()).toBe(true);
    expect((await lstat(socket)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'run'))).mode & 0o777).toBe(0o700);

    const status = await adminRequest(socket, '/v1/status');
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({
      agent: { pid: process.pid, state: 'running', configPath: '/etc/bpfsteer/agent.yaml' },
      plugins: [{ id: 'pa', state: 'running', attachments: [{ type: 'tcx-egress' }], maps: [{ name: 'pa_rules', entries: 1 }] }],
      sources: [{ name: 'fake#0', state: 'running', intents: 1 }],
    });
    expect(typeof (status.body as { agent: { startedAt: string } }).agent.startedAt).toBe('string');
    expect(await adminRequest(socket, '/v1/health')).toEqual({
      status: 200,
      body: { ok: true, state: 'running', failedPlugins: [], failedSources: [], problems: [] },
    });
    expect((await adminRequest(socket, '/v2/nothing')).status).toBe(404);

    await agent.stop();
    await expect(lstat(socket)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('reports 503 on /v1/health when a plugin failed', async () => {
    const socket = join(dir, 'agent.sock');
    const { agent } = agentOn(socket, { failing: true });
    await agent.start();
    const health = await adminRequest(socket, '/v1/health');
    expect(health).toMatchObject({ status: 503, body: { ok: false, failedPlugins: ['pb'] } });
  });

  it('refuses other methods than GET', async () => {
    const socket = join(dir, 'agent.sock');
    await agentOn(socket).agent.start();
    const code = await new Promise<number>((resolve, reject) => {
      const req = request({ socketPath: socket, path: '/v1/status', method: 'POST' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(code).toBe(405);
  });

  it('refuses to start when a live agent holds the socket, and leaves it alone', async () => {
    const socket = join(dir, 'agent.sock');
    await agentOn(socket).agent.start();
    const second = agentOn(socket).agent;
    await expect(second.start()).rejects.toThrow(AdminSocketInUseError);
    await expect(second.start()).rejects.toThrow(/cannot start an agent that is stopped/);
    expect((await adminRequest(socket, '/v1/health')).status).toBe(200);
  });

  it('refuses a path that is not a socket', async () => {
    const path = join(dir, 'agent.sock');
    await writeFile(path, 'precious');
    const { agent } = agentOn(path);
    await expect(agent.start()).rejects.toThrow('the path exists and is not a socket; refusing to replace it');
    expect((await lstat(path)).isFile()).toBe(true);
  });

  it('replaces a stale socket file', async () => {
    const socket = join(dir, 'agent.sock');
    // an agent that crashed: it listened, then died by SIGKILL without removing its socket
    const crashed = spawnSync(process.execPath, [
      '-e',
      `require('node:net').createServer().listen(${JSON.stringify(socket)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    expect(crashed.signal).toBe('SIGKILL');
    expect((await lstat(socket)).isSocket()).toBe(true);
    const { agent, records } = agentOn(socket);
    await agent.start();
    expect(records.some((r) => r.msg === 'replaced a stale admin socket')).toBe(true);
    expect((await adminRequest(socket, '/v1/health')).status).toBe(200);
  });
});

describe('adminRequest', () => {
  it('explains a missing socket', async () => {
    const socket = join(dir, 'none.sock');
    const err = await adminRequest(socket, '/v1/status').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentUnavailableError);
    expect((err as Error).message).toBe(
      `no agent answers on ${socket}: the socket does not exist (is \`bpfsteer run\` running?)`,
    );
  });
});

/** Writes `requestLine` and a Host header to `socket` and returns the raw answer (until the server closes). */
function rawRequest(socket: string, requestLine: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const conn = createConnection({ path: socket });
    const chunks: Buffer[] = [];
    conn.setTimeout(3000, () => conn.destroy(new Error(`no answer to ${JSON.stringify(requestLine)} within 3 s`)));
    conn.on('data', (c: Buffer) => chunks.push(c));
    conn.on('error', reject);
    conn.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      const body = text.slice(text.indexOf('\r\n\r\n') + 4);
      try {
        resolve({ status, body: body ? JSON.parse(body) : undefined });
      } catch {
        resolve({ status, body });
      }
    });
    conn.end(`${requestLine}\r\nHost: agent\r\nConnection: close\r\n\r\n`);
  });
}

describe('AdminServer request targets and failing handlers', () => {
  const handlers = (over: Partial<AdminHandlers> = {}): AdminHandlers => ({
    status: () => ({ state: 'running' }),
    health: () => ({ ok: true }),
    ...over,
  });
  let server: AdminServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it.each(['GET //%%% HTTP/1.1', 'GET //[ HTTP/1.1', 'GET http://x:99999/v1/status HTTP/1.1', 'GET http://[::1/v1/status HTTP/1.1'])(
    'answers %j with 400 and a JSON error, and keeps serving',
    async (line) => {
      const socket = join(dir, 'admin.sock');
      server = await AdminServer.listen(socket, handlers(), captureLogger().logger);
      const answer = await rawRequest(socket, line);
      expect(answer.status).toBe(400);
      expect(answer.body).toEqual({ error: expect.stringMatching(/^invalid request target "[^"]+"/) });
      expect(await adminRequest(socket, '/v1/health')).toEqual({ status: 200, body: { ok: true } });
    },
  );

  it('still serves an absolute-form target and a query string', async () => {
    const socket = join(dir, 'admin.sock');
    server = await AdminServer.listen(socket, handlers(), captureLogger().logger);
    expect(await rawRequest(socket, 'GET http://agent/v1/health HTTP/1.1')).toEqual({ status: 200, body: { ok: true } });
    expect(await rawRequest(socket, 'GET /v1/health?x=%zz HTTP/1.1')).toEqual({ status: 200, body: { ok: true } });
  });

  it('answers 500 when a handler throws or its answer cannot be serialised, and keeps serving', async () => {
    const socket = join(dir, 'admin.sock');
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const { logger, records } = captureLogger();
    server = await AdminServer.listen(
      socket,
      handlers({
        status: () => circular,
        health: () => {
          throw new Error('health exploded');
        },
      }),
      logger,
    );
    expect(await adminRequest(socket, '/v1/health')).toEqual({ status: 500, body: { error: 'health exploded' } });
    const status = await adminRequest(socket, '/v1/status');
    expect(status.status).toBe(500);
    expect(status.body).toEqual({ error: expect.stringMatching(/circular/i) });
    expect(records.filter((r) => r.msg === 'admin request failed')).toHaveLength(2);
    expect((await rawRequest(socket, 'GET /v2/none HTTP/1.1')).status).toBe(404);
  });
});
