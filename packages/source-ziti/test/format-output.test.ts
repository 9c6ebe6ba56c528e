import { expect, test } from 'vitest';
import { formatEvent, formatInterfaceTable, formatRuleTable, ruleRow } from '../src/diverter/format-output.js';

const divert = { destination: '10.0.0.16/28', source: '0.0.0.0/0', protocol: 'tcp' as const, ports: { low: 22, high: 22 }, action: 'divert' as const, tproxyPort: 33381, interfaces: ['ens33', 'lo'] };
const pass = { destination: '192.168.3.0/24', source: '0.0.0.0/0', protocol: 'udp' as const, ports: { low: 53, high: 53 }, action: 'pass' as const, interfaces: [] };

test('zfw-style rows', () => {
  expect(ruleRow(divert)).toBe('TPROXY tcp 0.0.0.0/0 10.0.0.16/28 dpts=22:22 TPROXY redirect 127.0.0.1:33381 [ens33,lo]');
  expect(ruleRow(pass)).toBe('PASSTHRU udp 0.0.0.0/0 192.168.3.0/24 dpts=53:53 PASSTHRU to 192.168.3.0/24 []');
  expect(ruleRow({ ...divert, destination: 'fd00::/64', source: '::/0' })).toContain('TPROXY redirect [::1]:33381');
  expect(ruleRow({ ...pass, action: 'deny' })).toBe('DENY udp 0.0.0.0/0 192.168.3.0/24 dpts=53:53 DROP []');
});

test('the table: aligned columns, counters, count line', () => {
  const text = formatRuleTable({
    capacity: 131072,
    total: 2,
    count: 2,
    counters: true,
    rules: [
      { ...divert, id: 1, packets: 12, bytes: 3400, service: 'svc' },
      { ...pass, id: 2, packets: 0, bytes: 0 },
    ],
  });
  const lines = text.trimEnd().split('\n');
  expect(lines[0]).toMatch(/^target\s+proto\s+origin\s+destination\s+mapping\s+interfaces\s+packets\s+bytes\s+service$/);
  expect(lines[1].replace(/\s+/g, ' ')).toBe('TPROXY tcp 0.0.0.0/0 10.0.0.16/28 dpts=22:22 TPROXY redirect 127.0.0.1:33381 [ens33,lo] 12 3400 svc');
  expect(lines[2].replace(/\s+/g, ' ')).toBe('PASSTHRU udp 0.0.0.0/0 192.168.3.0/24 dpts=53:53 PASSTHRU to 192.168.3.0/24 [] 0 0');
  expect(lines[1].indexOf('10.0.0.16/28')).toBe(lines[2].indexOf('192.168.3.0/24'));
  expect(lines[3]).toBe('Rule Count: 2 / 131072');
});

test('without counters: dashes, unknown capacity and a note', () => {
  const text = formatRuleTable({ capacity: null, total: 1, count: 1, counters: false, rules: [{ ...pass, id: null, packets: null, bytes: null }] });
  expect(text).toContain('Rule Count: 1 / ?');
  expect(text).toContain('no counters');
});

test('interfaces table', () => {
  const text = formatInterfaceTable({
    interfaces: [
      { name: 'eth0', settings: { echo: true }, live: { ifindex: 3, attachment: 'tcx-ingress', ssh: true, echo: true, ipv6: false, events: { drops: true, diverts: false }, passed: 5, diverted: 6, dropped: 7, eventsLost: 0 } },
      { name: 'eth9', settings: { ssh: false }, live: null },
    ],
  });
  const [, eth0, eth9] = text.trimEnd().split('\n').map((l) => l.replace(/\s+/g, ' '));
  expect(eth0).toBe('eth0 3 tcx-ingress on on off on off 5 6 7 0');
  expect(eth9).toBe('eth9 - (not attached) off - - - - - - - -');
});

test('events', () => {
  expect(
    formatEvent({ time: '2024-01-01T00:00:00.000Z', interface: 'eth0', kind: 'divert', reason: 'rule', family: 4, protocol: 'tcp', source: '10.0.0.1:5000', destination: '10.0.0.16:22', ruleId: 3, tproxyPort: 33381 }),
  ).toBe('2024-01-01T00:00:00.000Z eth0 divert rule tcp 10.0.0.1:5000 -> 10.0.0.16:22 rule=3 tproxy=33381');
  expect(formatEvent({ lost: 4 })).toContain('4 events lost');
  expect(formatEvent({ other: 1 })).toBe('{"other":1}');
  expect(formatEvent(null)).toBe('null');
});
