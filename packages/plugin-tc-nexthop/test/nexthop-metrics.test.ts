import { describe, expect, it } from 'vitest';
import { nexthopMetricFamilies } from '../src/nexthop-metrics.js';

describe('nexthopMetricFamilies', () => {
  it('gives each rule its redirected packets and bytes, labelled by source, next hop and interface', () => {
    const families = nexthopMetricFamilies([
      { source: '10.0.1.0/24', nexthop: '192.168.1.254', interface: 'eth1', ifindex: 3, packets: 12, bytes: 1800 },
      { source: 'fd00:1::/64', nexthop: 'fe80::1', interface: 'eth2', ifindex: 4, packets: 0, bytes: 0 },
    ]);
    expect(families).toEqual([
      {
        name: 'bpfsteer_nexthop_redirected_packets_total',
        help: expect.any(String),
        type: 'counter',
        values: [
          { labels: { source: '10.0.1.0/24', via: '192.168.1.254', interface: 'eth1' }, value: 12 },
          { labels: { source: 'fd00:1::/64', via: 'fe80::1', interface: 'eth2' }, value: 0 },
        ],
      },
      {
        name: 'bpfsteer_nexthop_redirected_bytes_total',
        help: expect.any(String),
        type: 'counter',
        values: [
          { labels: { source: '10.0.1.0/24', via: '192.168.1.254', interface: 'eth1' }, value: 1800 },
          { labels: { source: 'fd00:1::/64', via: 'fe80::1', interface: 'eth2' }, value: 0 },
        ],
      },
    ]);
  });

  it('labels an adopted rule whose interface is gone with its ifindex', () => {
    const [packets] = nexthopMetricFamilies([{ source: '10.0.0.0/8', nexthop: '10.255.0.1', interface: undefined, ifindex: 17, packets: 1, bytes: 60 }]);
    expect(packets!.values).toEqual([{ labels: { source: '10.0.0.0/8', via: '10.255.0.1', interface: '17' }, value: 1 }]);
  });

  it('serves empty families without rules', () => {
    expect(nexthopMetricFamilies([]).map((f) => f.values)).toEqual([[], []]);
  });
});
