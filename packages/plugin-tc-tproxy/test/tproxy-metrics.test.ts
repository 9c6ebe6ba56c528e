import { describe, expect, it } from 'vitest';
import { tproxyMetricFamilies } from '../src/tproxy-metrics.js';

const iface = (name: string, passed: number, diverted: number, dropped: number, eventsLost: number) => ({ name, passed, diverted, dropped, eventsLost });
const rule = (service: string | undefined, packets: number, bytes: number) => ({ intent: service === undefined ? {} : { service }, packets, bytes });

describe('tproxyMetricFamilies', () => {
  it('gives each interface its packets by verdict and its lost events, and no per-service series unless asked', () => {
    const families = tproxyMetricFamilies([iface('eth0', 5, 3, 2, 1), iface('vlan42', 0, 0, 0, 0)]);
    expect(families.map((f) => [f.name, f.type])).toEqual([
      ['bpfsteer_tproxy_interface_packets_total', 'counter'],
      ['bpfsteer_tproxy_events_lost_total', 'counter'],
    ]);
    expect(families[0]!.values).toEqual([
      { labels: { interface: 'eth0', verdict: 'passed' }, value: 5 },
      { labels: { interface: 'eth0', verdict: 'diverted' }, value: 3 },
      { labels: { interface: 'eth0', verdict: 'dropped' }, value: 2 },
      { labels: { interface: 'vlan42', verdict: 'passed' }, value: 0 },
      { labels: { interface: 'vlan42', verdict: 'diverted' }, value: 0 },
      { labels: { interface: 'vlan42', verdict: 'dropped' }, value: 0 },
    ]);
    expect(families[1]!.values).toEqual([
      { labels: { interface: 'eth0' }, value: 1 },
      { labels: { interface: 'vlan42' }, value: 0 },
    ]);
    for (const f of families) expect(f.help.length).toBeGreaterThan(0);
  });

  it('sums the rule hits by service name (sorted), leaving out the rules without one', () => {
    const families = tproxyMetricFamilies([iface('eth0', 0, 0, 0, 0)], [rule('web', 3, 300), rule(undefined, 7, 700), rule('db', 1, 60), rule('web', 2, 120), rule('', 9, 9), rule('idle', 0, 0)]);
    const byName = Object.fromEntries(families.map((f) => [f.name, f]));
    expect(byName.bpfsteer_tproxy_service_packets_total).toMatchObject({
      type: 'counter',
      values: [
        { labels: { service: 'db' }, value: 1 },
        { labels: { service: 'idle' }, value: 0 },
        { labels: { service: 'web' }, value: 5 },
      ],
    });
    expect(byName.bpfsteer_tproxy_service_bytes_total).toMatchObject({
      type: 'counter',
      values: [
        { labels: { service: 'db' }, value: 60 },
        { labels: { service: 'idle' }, value: 0 },
        { labels: { service: 'web' }, value: 420 },
      ],
    });
  });

  it('keeps one series per service however many rules (bounded at 100,000 rules)', () => {
    const rules = Array.from({ length: 100_000 }, (_, i) => rule(`svc-${i % 10}`, 1, 10));
    const families = tproxyMetricFamilies([], rules);
    const packets = families.find((f) => f.name === 'bpfsteer_tproxy_service_packets_total')!;
    expect(packets.values).toHaveLength(10);
    expect(packets.values.every((v) => v.value === 10_000)).toBe(true);
    expect(families.find((f) => f.name === 'bpfsteer_tproxy_interface_packets_total')!.values).toEqual([]);
  });

  it('serves empty service families when opted in without rules', () => {
    const families = tproxyMetricFamilies([], []);
    expect(families.map((f) => [f.name, f.values.length])).toEqual([
      ['bpfsteer_tproxy_interface_packets_total', 0],
      ['bpfsteer_tproxy_events_lost_total', 0],
      ['bpfsteer_tproxy_service_packets_total', 0],
      ['bpfsteer_tproxy_service_bytes_total', 0],
    ]);
  });
});
