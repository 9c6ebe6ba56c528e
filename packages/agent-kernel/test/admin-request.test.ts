/**
 * adminRequest against plain HTTP servers on a unix socket: a GET sent on a kept-alive connection
 * that the server dropped meanwhile (as an agent does when it stops after handing over) is sent
 * again on a new connection; anything else fails with the cause.
 */
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { adminRequest } from '../src/admin-request.js';
import { AgentUnavailableError } from '../src/errors.js';

let dir: string;
let server: Server | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), `bpfsteer-admin-request-${process.pid}-`));
});
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** A server answering {n}; the first connection's second request is dropped unanswered (`drop`). */
async function serve(socket: string, drop: 'reset' | 'never'): Promise<{ connections: () => number; requests: () => number }> {
  let connections = 0;
  let answered = 0;
  let requests = 0;
  server = createServer((req, res) => {
    requests++;
    const first = (req.socket as { first?: boolean }).first;
    if (drop === 'reset' && first && answered === 1) {
      req.socket.destroy(); // closed as the request arrives: the client sees ECONNRESET or EPIPE
      return;
    }
    answered++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ n: answered }));
  });
  server.on('connection', (s) => Object.assign(s, { first: ++connections === 1 }));
  await new Promise<void>((resolve) => server!.listen(socket, resolve));
  return { connections: () => connections, requests: () => requests };
}

test('a GET whose kept-alive connection was dropped is sent again on a new one', async () => {
  const socket = join(dir, 'a.sock');
  const s = await serve(socket, 'reset');
  expect((await adminRequest(socket, '/v1/status')).body).toEqual({ n: 1 });
  expect((await adminRequest(socket, '/v1/status')).body).toEqual({ n: 2 }); // the first connection's second request: dropped, sent again
  expect(s.requests()).toBe(3);
  expect(s.connections()).toBe(2);
});

test('a POST is never sent twice', async () => {
  const socket = join(dir, 'b.sock');
  await serve(socket, 'reset');
  expect((await adminRequest(socket, '/v1/handover', { method: 'POST' })).body).toEqual({ n: 1 });
  await expect(adminRequest(socket, '/v1/handover', { method: 'POST' })).rejects.toBeInstanceOf(AgentUnavailableError);
});

test('no server: the error names the socket and the cause', async () => {
  const socket = join(dir, 'none.sock');
  await expect(adminRequest(socket, '/v1/status')).rejects.toThrow(`no agent answers on ${socket}: the socket does not exist`);
});
