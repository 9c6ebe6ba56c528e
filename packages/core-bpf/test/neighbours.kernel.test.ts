// Kernel-managed neighbour entries over rtnetlink, on a veth pair between two fresh netns: the
// kernel resolves a MANAGED entry by itself (ARP and NDP) and keeps it; list, delete and errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BPFSTEER_NEIGH_PROTOCOL, deleteNeighbour, listNeighbours, setManagedNeighbour } from '../src/neighbours.js';
import { InvalidArgumentError, NotFoundError, SyscallError } from '../src/errors.js';
import { Lab, openFdCount, run } from './support/lab.js';

const lab = new Lab();
let nsA: string; // a0: 10.78.0.1, fd78::1
let nsB: string; // b0: 10.78.0.2, fd78::2

function noDad(ns: string): void {
  for (const key of ['all', 'default']) run('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', `net.ipv6.conf.${key}.accept_dad=0`]);
}

async function waitFor<T>(fn: () => T | undefined, what: string, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(() => {
  nsA = lab.addNetns('cbnA');
  nsB = lab.addNetns('cbnB');
  noDad(nsA);
  noDad(nsB);
  lab.veth(nsA, 'a0', '10.78.0.1/24', nsB, 'b0', '10.78.0.2/24');
  run('ip', ['-n', nsA, 'addr', 'add', 'fd78::1/64', 'dev', 'a0', 'nodad']);
  run('ip', ['-n', nsB, 'addr', 'add', 'fd78::2/64', 'dev', 'b0', 'nodad']);
});

afterAll(() => lab.cleanup());

describe('managed neighbours', () => {
  it.each(['10.78.0.2', 'fd78::2'])('creates a managed entry for %s that the kernel resolves by itself', async (address) => {
    expect(setManagedNeighbour({ ifname: 'a0', address, netns: nsA })).toBe(true);
    const entry = await waitFor(
      () => listNeighbours({ ifname: 'a0', netns: nsA }).find((n) => n.address === address && n.state === 'reachable'),
      `${address} to become reachable`,
    );
    expect(entry).toMatchObject({ ifname: 'a0', managed: true, protocol: BPFSTEER_NEIGH_PROTOCOL });
    expect(entry.lladdr).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    expect(run('ip', ['-n', nsA, 'neigh', 'show', 'dev', 'a0', 'to', address])).toMatch(/managed/);
    // replacing is idempotent
    expect(setManagedNeighbour({ ifname: 'a0', address, netns: nsA })).toBe(true);
    expect(listNeighbours({ netns: nsA, protocol: BPFSTEER_NEIGH_PROTOCOL }).filter((n) => n.address === address)).toHaveLength(1);

    expect(deleteNeighbour({ ifname: 'a0', address, netns: nsA, protocol: BPFSTEER_NEIGH_PROTOCOL })).toBe(true);
    expect(listNeighbours({ ifname: 'a0', netns: nsA }).some((n) => n.address === address && n.protocol === BPFSTEER_NEIGH_PROTOCOL)).toBe(false);
    expect(deleteNeighbour({ ifname: 'a0', address, netns: nsA, protocol: BPFSTEER_NEIGH_PROTOCOL })).toBe(false);
  });

  it('leaves an administrator static entry alone', () => {
    run('ip', ['-n', nsA, 'neigh', 'replace', '10.78.0.9', 'dev', 'a0', 'lladdr', '02:00:00:00:00:09', 'nud', 'permanent']);
    expect(setManagedNeighbour({ ifname: 'a0', address: '10.78.0.9', netns: nsA })).toBe(false);
    expect(deleteNeighbour({ ifname: 'a0', address: '10.78.0.9', netns: nsA, protocol: BPFSTEER_NEIGH_PROTOCOL })).toBe(false);
    const entry = listNeighbours({ ifname: 'a0', netns: nsA }).find((n) => n.address === '10.78.0.9');
    expect(entry).toMatchObject({ state: 'permanent', managed: false, protocol: 0, lladdr: '02:00:00:00:00:09' });
    expect(deleteNeighbour({ ifname: 'a0', address: '10.78.0.9', netns: nsA })).toBe(true);
  });

  it('rejects bad input with clear errors and changes nothing', () => {
    const before = listNeighbours({ netns: nsA }).length;
    expect(() => setManagedNeighbour({ ifname: 'a0', address: '10.78.0.300', netns: nsA })).toThrow(InvalidArgumentError);
    expect(() => setManagedNeighbour({ ifname: 'a0', address: '224.0.0.1', netns: nsA })).toThrow(/unicast/);
    expect(() => setManagedNeighbour({ ifname: 'a0', address: '10.78.0.2', netns: nsA, protocol: 300 })).toThrow(/1\.\.255/);
    expect(() => setManagedNeighbour({ ifname: 'bad name!', address: '10.78.0.2', netns: nsA })).toThrow(InvalidArgumentError);
    expect(() => setManagedNeighbour({ ifname: 'nope0', address: '10.78.0.2', netns: nsA })).toThrow(NotFoundError);
    expect(() => listNeighbours({ netns: 'cbn-missing-netns' })).toThrow(NotFoundError);
    expect(listNeighbours({ netns: nsA })).toHaveLength(before);
  });

  it('turns a kernel rejection into SyscallError with the errno name', () => {
    // IPv6 disabled on the device: the kernel refuses an IPv6 neighbour there
    lab.veth(nsA, 'c0', '10.79.0.1/24', nsB, 'c1', '10.79.0.2/24');
    run('ip', ['netns', 'exec', nsA, 'sysctl', '-q', '-w', 'net.ipv6.conf.c0.disable_ipv6=1']);
    try {
      setManagedNeighbour({ ifname: 'c0', address: 'fd79::2', netns: nsA });
      expect.unreachable('IPv6 is disabled on c0');
    } catch (err) {
      expect(err).toBeInstanceOf(SyscallError);
      expect((err as SyscallError).errno).toMatch(/^E[A-Z]+$/);
      expect((err as SyscallError).call).toBe('RTM_NEWNEIGH');
      expect((err as SyscallError).message).toMatch(/IPv6 is disabled/); // the kernel's extended-ack text
    }
  });

  it('does not leak fds', () => {
    listNeighbours({ netns: nsA });
    const before = openFdCount();
    for (let i = 0; i < 20; i++) {
      listNeighbours({ netns: nsA });
      setManagedNeighbour({ ifname: 'a0', address: '10.78.0.2', netns: nsA });
      deleteNeighbour({ ifname: 'a0', address: '10.78.0.2', netns: nsA, protocol: BPFSTEER_NEIGH_PROTOCOL });
      expect(() => setManagedNeighbour({ ifname: 'nope0', address: '10.78.0.2', netns: nsA })).toThrow();
    }
    expect(openFdCount()).toBe(before);
  });
});
