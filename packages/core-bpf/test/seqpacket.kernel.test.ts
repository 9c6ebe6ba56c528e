// SeqpacketSocket / SeqpacketServer on real unix SOCK_SEQPACKET sockets: message boundaries, fds
// (SCM_RIGHTS) in both directions and across processes, back-pressure without blocking the loop,
// end of stream, permissions of the socket file, stale and live socket files, no leaked fds.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeqpacketServer } from '../src/seqpacket-server.js';
import { SeqpacketSocket, type SeqpacketMessage } from '../src/seqpacket-socket.js';
import { ClosedError, InvalidArgumentError, SyscallError } from '../src/errors.js';
import { fdInode, isFdOpen } from '../src/fd-lifetime.js';
import { libcRaw, C } from '../src/ffi/libc.js';
import { SK } from '../src/ffi/socket-constants.js';
import { libcSocket } from '../src/ffi/libc-socket.js';
import { encodeUnixAddress } from '../src/unix-address.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), `cbt-seqp-${process.pid}-`));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const openFds = (): number => readdirSync('/proc/self/fd').length;

/** Collects messages of a started socket; `next()` resolves with the next one. */
function inbox(socket: SeqpacketSocket) {
  const queue: SeqpacketMessage[] = [];
  const waiters: Array<(m: SeqpacketMessage) => void> = [];
  let ended: { error?: Error } | undefined;
  const endWaiters: Array<(e: { error?: Error }) => void> = [];
  socket.start({
    message(m) {
      const w = waiters.shift();
      if (w) w(m);
      else queue.push(m);
    },
    end(error) {
      ended = { error };
      for (const w of endWaiters.splice(0)) w(ended);
    },
  });
  return {
    next: () => new Promise<SeqpacketMessage>((resolve) => (queue.length ? resolve(queue.shift()!) : waiters.push(resolve))),
    ended: () => new Promise<{ error?: Error }>((resolve) => (ended ? resolve(ended) : endWaiters.push(resolve))),
    queue,
  };
}

describe('SeqpacketSocket.pair', () => {
  it('keeps message boundaries and passes fds both ways', async () => {
    const [a, b] = SeqpacketSocket.pair();
    const file = join(dir, 'pair.txt');
    writeFileSync(file, '');
    const fd = openSync(file, 'a');
    try {
      const rb = inbox(b);
      const ra = inbox(a);
      const sends = [a.send(Buffer.from('one'), [fd]), a.send(Buffer.from('two')), a.send(Buffer.from('three'), [fd, fd])];
      closeSync(fd); // send() took its own duplicates
      await Promise.all(sends);
      const [m1, m2, m3] = [await rb.next(), await rb.next(), await rb.next()];
      expect([m1.payload.toString(), m2.payload.toString(), m3.payload.toString()]).toEqual(['one', 'two', 'three']);
      expect([m1.fds.length, m2.fds.length, m3.fds.length]).toEqual([1, 0, 2]);
      for (const m of [m1, m2, m3]) expect(m).toMatchObject({ fdsTruncated: false, payloadTruncated: false });
      writeSync(m1.fds[0], 'written through the passed fd\n');
      expect(fdInode(m3.fds[0])).toBe(fdInode(m3.fds[1]));
      for (const f of [...m1.fds, ...m3.fds]) closeSync(f);
      expect(readFileSync(file, 'utf8')).toBe('written through the passed fd\n');
      await b.send(Buffer.from('back'));
      expect((await ra.next()).payload.toString()).toBe('back');
    } finally {
      a.close();
      b.close();
    }
  });

  it('does not block the event loop when the peer does not read (back-pressure), and delivers all in order', async () => {
    const [a, b] = SeqpacketSocket.pair();
    try {
      const big = Buffer.alloc(8192, 7);
      const sends: Promise<void>[] = [];
      for (let i = 0; i < 400; i++) {
        big.writeUInt32LE(i, 0);
        sends.push(a.send(big));
      }
      await sleep(20);
      expect(a.pendingSends).toBeGreaterThan(0); // the kernel buffer is full, the rest waits
      let ticks = 0;
      const timer = setInterval(() => ticks++, 1);
      const rb = inbox(b);
      const order: number[] = [];
      for (let i = 0; i < 400; i++) order.push((await rb.next()).payload.readUInt32LE(0));
      await Promise.all(sends);
      clearInterval(timer);
      expect(order).toEqual([...Array(400).keys()]);
      expect(a.pendingSends).toBe(0);
      expect(ticks).toBeGreaterThan(0);
    } finally {
      a.close();
      b.close();
    }
  });

  it('flags too many fds and too long messages (the kernel closes the extra fds)', async () => {
    const [a, b] = SeqpacketSocket.pair({ maxFds: 1, maxPayload: 4 });
    const fd = openSync('/dev/null', 'r');
    try {
      const rb = inbox(b);
      await a.send(Buffer.from('ab'), [fd, fd, fd]);
      await a.send(Buffer.from('too long'));
      const m1 = await rb.next();
      expect(m1).toMatchObject({ fdsTruncated: true, payloadTruncated: false });
      expect(m1.fds.length).toBe(1);
      for (const f of m1.fds) closeSync(f);
      const m2 = await rb.next();
      expect(m2).toMatchObject({ fdsTruncated: false, payloadTruncated: true });
      expect(m2.payload.toString()).toBe('too ');
    } finally {
      closeSync(fd);
      a.close();
      b.close();
    }
  });

  it('reports the end of the stream once, and close() rejects queued sends', async () => {
    const [a, b] = SeqpacketSocket.pair();
    const rb = inbox(b);
    a.close();
    expect(await rb.ended()).toEqual({ error: undefined });
    expect(b.closed).toBe(true);
    await expect(b.send(Buffer.from('x'))).rejects.toBeInstanceOf(ClosedError);
    const [c, d] = SeqpacketSocket.pair();
    const big = Buffer.alloc(60000);
    const pending = Array.from({ length: 50 }, () => c.send(big));
    await sleep(10);
    c.close();
    d.close();
    const results = await Promise.allSettled(pending);
    expect(results.some((r) => r.status === 'rejected' && r.reason instanceof ClosedError)).toBe(true);
  });

  it('refuses bad sends without touching the socket', async () => {
    const [a, b] = SeqpacketSocket.pair();
    try {
      await expect(a.send(Buffer.alloc(0))).rejects.toThrow(/non-empty Uint8Array payload/);
      await expect(a.send(Buffer.from('x'), [-1])).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(a.send(Buffer.from('x'), [99999])).rejects.toBeInstanceOf(SyscallError); // EBADF on dup
      const rb = inbox(b);
      await a.send(Buffer.from('still fine'));
      expect((await rb.next()).payload.toString()).toBe('still fine');
      expect(() => b.start({ message() {} })).toThrow(/already started/);
    } finally {
      a.close();
      b.close();
    }
  });

  it('leaks no fd over many pairs, sends with fds and closes', async () => {
    const before = openFds();
    for (let i = 0; i < 30; i++) {
      const [a, b] = SeqpacketSocket.pair();
      const rb = inbox(b);
      await a.send(Buffer.from('x'), [0]);
      const m = await rb.next();
      for (const f of m.fds) closeSync(f);
      a.close();
      await rb.ended();
    }
    await sleep(10);
    expect(openFds()).toBe(before);
  });
});

describe('SeqpacketServer', () => {
  it('accepts connections; the socket file is 0600 (or 0660 with a group) and removed on close', async () => {
    const path = join(dir, 'srv.sock');
    const server = SeqpacketServer.listen(path);
    try {
      expect(statSync(path).isSocket()).toBe(true);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      const accepted: SeqpacketSocket[] = [];
      const got: string[] = [];
      server.start((s) => {
        accepted.push(s);
        s.start({ message: (m) => got.push(m.payload.toString()) });
      });
      const client = SeqpacketSocket.connect(path);
      await client.send(Buffer.from('hello'));
      while (got.length === 0) await sleep(5);
      expect(got).toEqual(['hello']);
      expect(accepted[0].peerCredentials()).toEqual({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
      client.close();
      for (const s of accepted) s.close();
    } finally {
      server.close();
    }
    expect(existsSync(path)).toBe(false);

    const grouped = SeqpacketServer.listen(path, { group: 12345 });
    try {
      expect(statSync(path).mode & 0o777).toBe(0o660);
      expect(statSync(path).gid).toBe(12345);
    } finally {
      grouped.close();
    }
    expect(readdirSync(dir).filter((n) => n.startsWith('.srv.sock'))).toEqual([]); // no temporary names left
  });

  it('replaces a stale socket file, refuses a live one and anything that is not a socket', () => {
    const path = join(dir, 'stale.sock');
    // a stale socket file: bound by a socket that was closed without removing the file
    const fd = libcRaw.socket(C.AF_UNIX, SK.SOCK_SEQPACKET | C.SOCK_CLOEXEC, 0);
    const { addr, length } = encodeUnixAddress(path);
    expect(libcSocket.bind(fd, addr, length)).toBe(0);
    closeSync(fd);
    const staleInode = statSync(path).ino;
    const server = SeqpacketServer.listen(path);
    try {
      expect(statSync(path).ino).not.toBe(staleInode);
      expect(() => SeqpacketServer.listen(path)).toThrow(/another server is listening there.*EADDRINUSE/);
      expect(statSync(path).isSocket()).toBe(true); // the live one was left alone
    } finally {
      server.close();
    }
    const plain = join(dir, 'plain');
    writeFileSync(plain, 'data');
    expect(() => SeqpacketServer.listen(plain)).toThrow(/exists and is not a socket/);
    expect(readFileSync(plain, 'utf8')).toBe('data');
  });

  it('refuses bad options and paths', () => {
    expect(() => SeqpacketServer.listen(join(dir, 'x.sock'), { mode: 0o1777 })).toThrow(/invalid mode/);
    expect(() => SeqpacketServer.listen(join(dir, 'x.sock'), { group: -1 })).toThrow(/invalid group/);
    expect(() => SeqpacketServer.listen(join(dir, 'x.sock'), { bogus: 1 } as never)).toThrow(/unknown option bogus/);
    expect(() => SeqpacketServer.listen(join(dir, 'x'.repeat(120)))).toThrow(/at most 107/);
    expect(() => SeqpacketSocket.connect(join(dir, 'nobody.sock'))).toThrow(/connect: ENOENT/);
    expect(existsSync(join(dir, 'x.sock'))).toBe(false);
  });

  it('exchanges messages and fds with another process', async () => {
    const path = join(dir, 'child.sock');
    const server = SeqpacketServer.listen(path);
    const hooks = new URL('./support/ts-hooks.mjs', import.meta.url).pathname;
    const script = new URL('./support/children/seqpacket-peer.ts', import.meta.url).pathname;
    const shared = join(dir, 'shared.txt');
    const childFile = join(dir, 'child-own.txt');
    writeFileSync(shared, '');
    let conn: SeqpacketSocket | undefined;
    const connected = new Promise<SeqpacketSocket>((resolve) => server.start(resolve));
    const child = spawn(process.execPath, ['--no-warnings', '--import', hooks, script, path, childFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    try {
      await new Promise<void>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', () => resolve());
        child.once('exit', (code) => reject(new Error(`child exited ${code}: ${stderr}`)));
      });
      conn = await connected;
      const rc = inbox(conn);
      const fd = openSync(shared, 'a');
      await conn.send(Buffer.from('first'), [fd]);
      closeSync(fd);
      const answer = await rc.next();
      expect(answer.payload.toString()).toBe('ack:first');
      expect(answer.fds).toHaveLength(1);
      writeSync(answer.fds[0], 'the parent wrote this\n');
      closeSync(answer.fds[0]);
      expect(readFileSync(shared, 'utf8')).toBe('first via 1\n');
      expect(readFileSync(childFile, 'utf8')).toBe('the parent wrote this\n');
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      conn.close();
      expect(await exited).toBe(0);
      expect(stderr).toBe('');
    } finally {
      conn?.close();
      child.kill('SIGKILL');
      server.close();
    }
  });

  it('keeps the process alive while listening unless keepAlive is false (the fd stays valid)', () => {
    const path = join(dir, 'ka.sock');
    const server = SeqpacketServer.listen(path, { keepAlive: false });
    server.start(() => {});
    server.close();
    expect(isFdOpen(0)).toBe(true);
  });
});
