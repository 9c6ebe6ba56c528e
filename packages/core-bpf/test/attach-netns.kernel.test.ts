// sk_lookup: a TCP connect to port 80 in a fresh netns lands on a listener bound to 127.0.0.1:15008
// (the listener's fd is in the fixture's SOCKMAP), from the same netns and over a veth.
import { existsSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachNetns } from '../src/attach-netns.js';
import { openPinnedLink } from '../src/open-pinned-link.js';
import { NetnsHandle, withNetns } from '../src/netns.js';
import { AlreadyAttachedError, InvalidArgumentError, NotFoundError } from '../src/errors.js';
import { CL, counter, loadCoreLinks, u32, type Fixture } from './support/load-fixture.js';
import { exited, Lab, openFdCount } from './support/lab.js';
import { tcpListener } from './support/raw-socket.js';
import { spawn } from 'node:child_process';

const lab = new Lab();
let fx: Fixture;
let ns: string;
let peer: string;
let server: net.Server;

const CLIENT = `
const net = require('node:net');
const [host, port] = process.argv.slice(1);
const s = net.connect(Number(port), host);
let got = '';
s.on('data', (d) => { got += d; });
s.on('end', () => { process.stdout.write(got); process.exit(0); });
s.on('error', (e) => { process.stdout.write('ERROR ' + e.code); process.exit(0); });
s.write('hi');
setTimeout(() => { process.stdout.write('TIMEOUT'); process.exit(0); }, 5000).unref();
`;

/**
 * Connect from `fromNs` to host:port and return what came back ("ERROR ECONNREFUSED" on failure).
 * Asynchronous: the listener is served by this process's event loop.
 */
async function connectFrom(fromNs: string, host: string, port: number): Promise<string> {
  const child = spawn('ip', ['netns', 'exec', fromNs, process.execPath, '-e', CLIENT, host, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  await exited(child);
  return out;
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

beforeAll(async () => {
  ns = lab.addNetns('cbtL');
  peer = lab.addNetns('cbtP');
  lab.veth(ns, 'l0', '10.80.0.1/24', peer, 'p0', '10.80.0.2/24');
  fx = loadCoreLinks();
  const fd = withNetns(ns, () => tcpListener('127.0.0.1', 15008));
  fx.update('steer_sockets', u32(0), u64(fd));
  server = net.createServer((s) => {
    s.on('data', () => s.end(`steered to ${s.localAddress}:${s.localPort}`));
  });
  await new Promise<void>((resolve) => server.listen({ fd }, resolve));
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  fx?.close();
  lab.cleanup();
});

describe('attachNetns (sk_lookup)', () => {
  it('steers connects to :80 to the listener on 15008, same netns and over veth', async () => {
    expect(await connectFrom(ns, '127.0.0.1', 80)).toBe('ERROR ECONNREFUSED');
    const a0 = counter(fx, CL.SK_LOOKUP_ASSIGNED);
    const link = attachNetns(fx.program('sk_lookup_steer'), { netns: ns });
    try {
      expect(link.type).toBe('sk_lookup');
      expect(link.target).toBe(`netns ${ns}`);
      expect(await connectFrom(ns, '127.0.0.1', 80)).toBe('steered to 127.0.0.1:80');
      expect(await connectFrom(peer, '10.80.0.1', 80)).toBe('steered to 10.80.0.1:80');
      expect(counter(fx, CL.SK_LOOKUP_ASSIGNED) - a0).toBeGreaterThanOrEqual(2n);
      // other ports are left alone
      expect(await connectFrom(ns, '127.0.0.1', 81)).toBe('ERROR ECONNREFUSED');
    } finally {
      link.close();
    }
    expect(await connectFrom(ns, '127.0.0.1', 80)).toBe('ERROR ECONNREFUSED');
  });

  it('takes an open NetnsHandle, refuses duplicates, pins and re-opens', async () => {
    const pin = lab.pinPath();
    using handle = NetnsHandle.open(ns);
    const link = attachNetns(fx.program('sk_lookup_steer'), { netns: handle, pinPath: pin });
    expect(() => attachNetns(fx.program('sk_lookup_steer'), { netns: ns })).toThrow(AlreadyAttachedError);
    // a second copy of the program (same name, another id) is refused as well
    const fx2 = loadCoreLinks();
    try {
      expect(() => attachNetns(fx2.program('sk_lookup_steer'), { netns: `/var/run/netns/${ns}` })).toThrow(/another program named sk_lookup_steer/);
      // ... but re-adopting the pin switches the link to it
      const again = attachNetns(fx2.program('sk_lookup_steer'), { netns: ns, pinPath: pin });
      again.close();
    } finally {
      fx2.close();
    }
    link.close();
    expect(existsSync(pin)).toBe(true);
    // fx2's program runs, with fx2's (empty) SOCKMAP: no steering now
    expect(await connectFrom(ns, '127.0.0.1', 80)).toBe('ERROR ECONNREFUSED');
    const reopened = openPinnedLink(pin);
    expect(reopened.type).toBe('sk_lookup');
    expect(reopened.target).toBe(`netns inode ${handle.inode}`);
    reopened.update(fx.program('sk_lookup_steer'));
    expect(await connectFrom(ns, '127.0.0.1', 80)).toBe('steered to 127.0.0.1:80');
    reopened.detach();
    expect(existsSync(pin)).toBe(false);
    expect(await connectFrom(ns, '127.0.0.1', 80)).toBe('ERROR ECONNREFUSED');
  });

  it('bad input gets a clear error and leaks nothing', () => {
    const before = openFdCount();
    expect(() => attachNetns(fx.program('sk_lookup_steer'), { netns: 'no-such-netns-1' })).toThrow(NotFoundError);
    expect(() => attachNetns(fx.program('sk_lookup_steer'), { netns: '/etc/hostname' })).toThrow(/not a network namespace/);
    expect(() => attachNetns(fx.program('tc_count_ingress'), { netns: ns })).toThrow(/sched_cls.*sk_lookup/);
    expect(() => attachNetns(fx.program('sk_lookup_steer'), {} as { netns: string })).toThrow(InvalidArgumentError);
    expect(() => attachNetns(fx.program('sk_lookup_steer'), { netns: 'bad name' })).toThrow(InvalidArgumentError);
    expect(openFdCount()).toBe(before);
  });
});
