import { describe, expect, it } from 'vitest';
import { cgroupMarkMetricFamilies } from '../src/cgroup-mark-metrics.js';

describe('cgroupMarkMetricFamilies', () => {
  it('gives the marked SYNs by outcome (their sum is every marked SYN)', () => {
    const families = cgroupMarkMetricFamilies({ markedSyns: 10, recorded: 6, notLocal: 3, recordFailed: 1 });
    expect(families).toEqual([
      {
        name: 'bpfsteer_cgroup_mark_marked_syns_total',
        help: expect.any(String),
        type: 'counter',
        values: [
          { labels: { outcome: 'recorded' }, value: 6 },
          { labels: { outcome: 'not_local' }, value: 3 },
          { labels: { outcome: 'record_failed' }, value: 1 },
        ],
      },
    ]);
    expect(families[0]!.values.reduce((n, v) => n + v.value, 0)).toBe(10);
  });
});
