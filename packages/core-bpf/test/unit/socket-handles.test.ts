/**
 * The socket-handle registry: the commit/refusal cycle with fake fds, then real fds (no privileges:
 * a unix socket pair, this process's own network namespace, /dev/null).
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ClosedError, InvalidArgumentError, NotFoundError } from '../../src/errors.js';
import { socketPair } from '../../src/fd-passing.js';
import { isFdOpen } from '../../src/fd-lifetime.js';
import { SocketHandles, type FdIdentity } from '../../src/socket-handles.js';

function fake(kinds: Record<number, FdIdentity> = {}) {
  const open = new Set<number>();
  let next = 100;
  const registry = new SocketHandles({
    dup: () => (open.add(next), next++),
    close: (fd) => {
      if (!open.delete(fd)) throw new Error(`fd ${fd} closed twice`);
    },
    identify: (fd) => kinds[fd] ?? { kind: 'socket', inode: BigInt(fd) },
  });
  return { registry, open };
}

describe('SocketHandles (fake fds)', () => {
  it('register gives a new handle per call, never reused, and resolves it to its duplicate', () => {
    const { registry, open } = fake();
    const a = registry.register(7, 'socket');
    const b = registry.register(7, 'socket');
    expect([a, b]).toEqual(['h:1', 'h:2']);
    expect(registry.fd(a)).toBe(100);
    expect(registry.fd(b)).toBe(101);
    registry.release(a);
    expect(open).toEqual(new Set([101]));
    expect(registry.register(7, 'socket')).toBe('h:3');
    expect(() => registry.fd(a)).toThrow(/socket handle "h:1" not found: it was closed/);
    expect(() => registry.fd('h:9')).toThrow(/socket handle "h:9" not found: it was never registered/);
    expect(() => registry.fd('7')).toThrow(NotFoundError);
  });

  it('a handle is closed exactly when the last commit in force naming it is replaced by a successful commit', () => {
    const { registry, open } = fake();
    const c = registry.committer();
    const h = registry.register(7, 'socket');
    c.settle(c.begin([h]), true);
    registry.release(h); // the registrant let go, but the snapshot in force names it
    expect(open.size).toBe(1);
    const without = c.begin([]);
    expect(open.size).toBe(1); // in force while the commit without it runs
    c.settle(without, true);
    expect(open.size).toBe(0);
    expect(() => registry.fd(h)).toThrow(NotFoundError);
  });

  it('a refused commit keeps the handles of the snapshot in force open, and closes those only it named', () => {
    const { registry, open } = fake();
    const c = registry.committer();
    const kept = registry.register(7, 'socket');
    c.settle(c.begin([kept]), true);
    registry.release(kept);
    const fresh = registry.register(8, 'socket');
    const refused = c.begin([fresh]);
    registry.release(fresh);
    expect(open.size).toBe(2); // named by the commit under way
    c.settle(refused, false);
    expect(registry.fd(kept)).toBe(100); // the agent re-applied the snapshot naming it
    expect(() => registry.fd(fresh)).toThrow(NotFoundError);
    expect(open).toEqual(new Set([100]));
  });

  it('an older commit settling late does not replace a newer snapshot in force; two committers keep their own', () => {
    const { registry } = fake();
    const c = registry.committer();
    const other = registry.committer();
    const [a, b, shared] = [registry.register(1, 'socket'), registry.register(2, 'socket'), registry.register(3, 'socket')];
    const older = c.begin([a]);
    const newer = c.begin([b, shared]);
    other.settle(other.begin([shared]), true);
    for (const h of [a, b, shared]) registry.release(h);
    c.settle(newer, true);
    c.settle(older, true);
    expect(() => registry.fd(a)).toThrow(NotFoundError);
    expect(registry.fd(b)).toBeGreaterThan(0);
    c.settle(c.begin([]), true);
    expect(registry.fd(shared)).toBeGreaterThan(0); // the other committer's snapshot still names it
    other.end();
    expect(() => registry.fd(shared)).toThrow(NotFoundError);
  });

  it('a commit naming an unknown handle is refused before anything is noted', () => {
    const { registry, open } = fake();
    const c = registry.committer();
    const h = registry.register(7, 'socket');
    expect(() => c.begin([h, 'h:42'])).toThrow(/socket handle "h:42"/);
    registry.release(h);
    expect(open.size).toBe(0);
  });

  it('checks the kind and the inode on registration, holding nothing on refusal', () => {
    const { registry, open } = fake({ 100: { kind: 'socket', inode: 5n }, 101: { kind: 'other', inode: 6n }, 102: { kind: 'netns', inode: 9n } });
    expect(() => registry.register(3, 'netns', { what: 'netns of pod a' })).toThrow(
      'register netns of pod a: expected a network namespace, but it is a socket',
    );
    expect(() => registry.register(3, 'socket')).toThrow(/expected a socket, but it is neither a socket nor a network namespace/);
    expect(() => registry.register(3, 'netns', { inode: 8n })).toThrow(/it is no longer the netns 8 \(now 9\)/);
    expect(() => registry.register(3, 'pipe' as 'socket')).toThrow(InvalidArgumentError);
    expect(() => registry.register(-1, 'socket')).toThrow(InvalidArgumentError);
    expect(open.size).toBe(0);
    expect(registry.size).toBe(0);
  });

  it('version changes when a handle opens or closes; table lists the open ones', () => {
    const { registry } = fake();
    const v0 = registry.version;
    const h = registry.register(7, 'socket');
    expect(registry.version).toBeGreaterThan(v0);
    expect(registry.table()).toEqual(new Map([[h, 100]]));
    const v1 = registry.version;
    registry.release(h);
    expect(registry.version).toBeGreaterThan(v1);
    expect(registry.table().size).toBe(0);
  });

  it('closeAll closes every handle, named or not, and refuses more', () => {
    const { registry, open } = fake();
    const c = registry.committer();
    const h = registry.register(7, 'socket');
    const pending = c.begin([h]);
    registry.register(8, 'socket');
    registry.closeAll();
    expect(open.size).toBe(0);
    c.settle(pending, true); // nothing to do
    expect(() => registry.register(9, 'socket')).toThrow(ClosedError);
    expect(() => registry.fd(h)).toThrow(/the registry is closed/);
  });
});

describe('SocketHandles (real fds)', () => {
  const mine: number[] = [];
  afterEach(() => {
    for (const fd of mine.splice(0)) {
      try {
        closeSync(fd);
      } catch {
        // closed by the test
      }
    }
  });

  it('the fd number a registrant closes does not affect the registered duplicate', () => {
    const registry = new SocketHandles();
    const [a, b] = socketPair();
    mine.push(b);
    const inode = fstatSync(a, { bigint: true }).ino;
    const h = registry.register(a, 'socket', { what: 'a listener', inode });
    closeSync(a);
    const fd = registry.fd(h);
    expect(fd).not.toBe(a);
    expect(fstatSync(fd, { bigint: true }).ino).toBe(inode);
    registry.closeAll();
    expect(isFdOpen(fd)).toBe(false);
  });

  it('tells a network namespace from a socket and from a file', () => {
    const registry = new SocketHandles();
    const ns = openSync('/proc/self/ns/net', 'r');
    const file = openSync('/dev/null', 'r');
    mine.push(ns, file);
    const h = registry.register(ns, 'netns', { what: 'this netns', inode: fstatSync(ns, { bigint: true }).ino });
    expect(registry.kindOf(h)).toBe('netns');
    expect(() => registry.register(ns, 'socket', { what: 'this netns' })).toThrow('register this netns: expected a socket, but it is a network namespace');
    expect(() => registry.register(file, 'netns', { what: '/dev/null' })).toThrow(/expected a network namespace, but it is neither/);
    const before = registry.size;
    expect(before).toBe(1);
    registry.closeAll();
  });

  it('refuses an fd that is not open, clearly', () => {
    const registry = new SocketHandles();
    const file = openSync('/dev/null', 'r');
    closeSync(file);
    expect(() => registry.register(file, 'socket', { what: 'gone' })).toThrow(/register gone/);
  });
});
