// Pure encoders/decoders of the unix-socket and sock_diag helpers: sockaddr_un, inet_diag request and
// reply, sockaddr_in/in6 decoding, and the option checks of seqpacket sockets and servers.
import { describe, expect, it } from 'vitest';
import { encodeUnixAddress, validateUnixPath } from '../../src/unix-address.js';
import { decodeInetDiagMessage, encodeInetDiagRequest } from '../../src/sock-diag.js';
import { decodeInetSockaddr } from '../../src/socket-info.js';
import { checkSocketOptions } from '../../src/seqpacket-socket.js';
import { InvalidArgumentError } from '../../src/errors.js';

describe('sockaddr_un', () => {
  it('encodes family, path and length (with the NUL)', () => {
    const { addr, length } = encodeUnixAddress('/run/x.sock');
    expect(addr.length).toBe(110);
    expect(addr.readUInt16LE(0)).toBe(1);
    expect(addr.toString('utf8', 2, 2 + 11)).toBe('/run/x.sock');
    expect(addr[13]).toBe(0);
    expect(length).toBe(2 + 11 + 1);
  });

  it.each([
    ['', /non-empty filesystem path/],
    ['a\0b', /NUL byte/],
    ['/'.padEnd(108, 'x'), /108 bytes, at most 107/],
    [42, /non-empty filesystem path/],
  ])('refuses %j', (path, message) => {
    expect(() => validateUnixPath(path)).toThrow(InvalidArgumentError);
    expect(() => validateUnixPath(path)).toThrow(message);
  });

  it('accepts the longest path that fits', () => {
    const p = '/'.padEnd(107, 'y');
    expect(encodeUnixAddress(p).length).toBe(110);
  });
});

describe('inet_diag', () => {
  it('encodes a TCP dump request for the given states', () => {
    const v4 = encodeInetDiagRequest(4, 1 << 10);
    expect(v4.length).toBe(56);
    expect([v4[0], v4[1], v4[2]]).toEqual([2, 6, 0]);
    expect(v4.readUInt32LE(4)).toBe(0x400);
    expect(v4.subarray(8).every((b) => b === 0)).toBe(true);
    expect(encodeInetDiagRequest(6, 0x400)[0]).toBe(10);
  });

  function reply(family: number, addr: number[], port: number, inode: number, uid = 0, ifindex = 0): Buffer {
    const b = Buffer.alloc(72);
    b[0] = family;
    b[1] = 10; // LISTEN
    b.writeUInt16BE(port, 4);
    Buffer.from(addr).copy(b, 4 + 4);
    b.writeUInt32LE(ifindex, 4 + 36);
    b.writeUInt32LE(uid, 64);
    b.writeUInt32LE(inode, 68);
    return b;
  }

  it.each([
    [2, [10, 1, 2, 3], 15008, 4242, { family: 4, address: '10.1.2.3', port: 15008, inode: 4242n }],
    [2, [0, 0, 0, 0], 80, 1, { family: 4, address: '0.0.0.0', port: 80, inode: 1n }],
    [10, [0xfd, 0, ...new Array(13).fill(0), 1], 15008, 99, { family: 6, address: 'fd00::1', port: 15008, inode: 99n }],
    [10, new Array(16).fill(0), 443, 7, { family: 6, address: '::', port: 443, inode: 7n }],
  ])('decodes family %i %j port %i', (family, addr, port, inode, expected) => {
    expect(decodeInetDiagMessage(reply(family, addr, port, inode, 1000, 3))).toEqual({ ...expected, state: 10, uid: 1000, ifindex: 3 });
  });

  it('ignores short messages and other families', () => {
    expect(decodeInetDiagMessage(Buffer.alloc(71))).toBeUndefined();
    expect(decodeInetDiagMessage(reply(1, [], 1, 1))).toBeUndefined();
  });
});

describe('sockaddr_in / sockaddr_in6', () => {
  it('decodes address and port', () => {
    const v4 = Buffer.alloc(16);
    v4.writeUInt16LE(2, 0);
    v4.writeUInt16BE(15008, 2);
    Buffer.from([127, 0, 0, 1]).copy(v4, 4);
    expect(decodeInetSockaddr(v4)).toEqual({ address: '127.0.0.1', port: 15008 });
    const v6 = Buffer.alloc(28);
    v6.writeUInt16LE(10, 0);
    v6.writeUInt16BE(8080, 2);
    v6[8 + 15] = 1;
    expect(decodeInetSockaddr(v6)).toEqual({ address: '::1', port: 8080 });
    expect(decodeInetSockaddr(Buffer.alloc(1))).toBeUndefined();
    const unix = Buffer.alloc(110);
    unix.writeUInt16LE(1, 0);
    expect(decodeInetSockaddr(unix)).toBeUndefined();
  });
});

describe('seqpacket socket options', () => {
  it('fills defaults', () => {
    expect(checkSocketOptions({}, 't')).toEqual({ maxFds: 8, maxPayload: 65536, keepAlive: true });
    expect(checkSocketOptions({ maxFds: 1, maxPayload: 10, keepAlive: false }, 't')).toEqual({ maxFds: 1, maxPayload: 10, keepAlive: false });
  });

  it.each([
    [{ maxFds: 0 }, /invalid maxFds 0: expected an integer 1..253/],
    [{ maxFds: 254 }, /invalid maxFds 254/],
    [{ maxPayload: 0 }, /invalid maxPayload 0/],
    [{ keepAlive: 'yes' }, /keepAlive must be a boolean/],
    [{ maxfds: 1 }, /unknown option maxfds: accepted are maxFds, maxPayload, keepAlive/],
  ])('refuses %j', (options, message) => {
    expect(() => checkSocketOptions(options as never, 't')).toThrow(message);
  });
});
