/** notifyServiceManager against a datagram socket standing in for systemd's notify socket, by path and in the abstract namespace. */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNotifyReceiver } from '@bpfsteer/netlab';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { notifyServiceManager, SyscallError } from '../src/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), `bpfsteer-notify-${process.pid}-`));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

test.each([
  ['a path', () => join(dir, 'notify.sock')],
  ['an abstract name (@...)', () => `@bpfsteer-test-${randomBytes(6).toString('hex')}`],
])('sends the state as one datagram to %s', async (_n, address) => {
  const socket = address();
  const receiver = await startNotifyReceiver(socket);
  try {
    expect(notifyServiceManager('READY=1\nSTATUS=running', socket)).toBe(true);
    expect(await receiver.next()).toBe('READY=1\nSTATUS=running');
    expect(notifyServiceManager('STOPPING=1', socket)).toBe(true);
    expect(await receiver.next()).toBe('STOPPING=1');
  } finally {
    receiver.close();
  }
});

test('no NOTIFY_SOCKET: nothing is sent (false); a socket nobody binds: the cause', () => {
  expect(notifyServiceManager('READY=1', undefined)).toBe(false);
  expect(notifyServiceManager('READY=1', '')).toBe(false);
  const missing = join(dir, 'nobody.sock');
  expect(() => notifyServiceManager('READY=1', missing)).toThrow(SyscallError);
  expect(() => notifyServiceManager('READY=1', missing)).toThrow(/ENOENT/);
});
