/** Which listeners the datapath finds for a divert rule (127.0.0.1 / ::1 at the tproxy port), from sock_diag's sockets. */
import { expect, test } from 'vitest';
import { divertProblem, portsByFamily } from '../src/divert-listeners.js';

test('127.0.0.1 and 0.0.0.0 serve IPv4; ::1 and :: serve IPv6; :: may take IPv4 too; other addresses serve neither', () => {
  const ports = portsByFamily([
    { family: 4, address: '127.0.0.1', port: 1 },
    { family: 4, address: '0.0.0.0', port: 2 },
    { family: 4, address: '10.0.0.1', port: 3 },
    { family: 6, address: '::1', port: 4 },
    { family: 6, address: '::', port: 5 },
    { family: 6, address: 'fd00::1', port: 6 },
  ]);
  expect([...ports[4]].sort()).toEqual([1, 2, 5]);
  expect([...ports[6]].sort()).toEqual([4, 5]);
});

test('a divert rule without its listener is a problem; other actions never are', () => {
  const listeners = { tcp: { 4: new Set([4000]), 6: new Set<number>() }, udp: { 4: new Set<number>(), 6: new Set([53]) } };
  const divert = (destination: string, protocol: 'tcp' | 'udp', tproxyPort: number) => ({ action: 'divert' as const, destination, protocol, tproxyPort });
  expect(divertProblem(divert('10.0.0.0/24', 'tcp', 4000), listeners)).toBeUndefined();
  expect(divertProblem(divert('fd00::/64', 'tcp', 4000), listeners)).toBe('no TCP listener at [::1]:4000 (only an IPv4 socket listens on port 4000): its connections are dropped');
  expect(divertProblem(divert('10.0.0.0/24', 'udp', 53), listeners)).toBe('no UDP listener at 127.0.0.1:53: its connections are dropped');
  expect(divertProblem(divert('fd00::/64', 'udp', 53), listeners)).toBeUndefined();
  expect(divertProblem({ action: 'pass', destination: '10.0.0.0/24', protocol: 'tcp', tproxyPort: undefined }, listeners)).toBeUndefined();
});
