import { describe, expect, it } from 'vitest';
import { sklookupMetricFamilies } from '../src/sklookup-metrics.js';

const counters = (n: number) => ({ diverted: n, passed: n + 1, skipped: n + 2, bypassed: n + 3, noSocket: n + 4, assignFailed: n + 5 });

describe('sklookupMetricFamilies', () => {
  it("gives each pod its lookups by outcome, and slot 0's as a family of their own", () => {
    const [pods, unattributed] = sklookupMetricFamilies({ pods: [{ uid: 'a-uid', counters: counters(10) }, { uid: 'b-uid', counters: counters(0) }], unattributed: counters(100) });
    expect(pods).toMatchObject({ name: 'bpfsteer_sklookup_lookups_total', type: 'counter' });
    expect(pods!.values.filter((v) => v.labels?.pod === 'a-uid')).toEqual([
      { labels: { pod: 'a-uid', outcome: 'diverted' }, value: 10 },
      { labels: { pod: 'a-uid', outcome: 'passed' }, value: 11 },
      { labels: { pod: 'a-uid', outcome: 'skipped' }, value: 12 },
      { labels: { pod: 'a-uid', outcome: 'bypassed' }, value: 13 },
      { labels: { pod: 'a-uid', outcome: 'no_socket' }, value: 14 },
      { labels: { pod: 'a-uid', outcome: 'assign_failed' }, value: 15 },
    ]);
    expect(pods!.values).toHaveLength(12);
    expect(unattributed).toEqual({
      name: 'bpfsteer_sklookup_unattributed_lookups_total',
      help: expect.any(String),
      type: 'counter',
      values: [
        { labels: { outcome: 'diverted' }, value: 100 },
        { labels: { outcome: 'passed' }, value: 101 },
        { labels: { outcome: 'skipped' }, value: 102 },
        { labels: { outcome: 'bypassed' }, value: 103 },
        { labels: { outcome: 'no_socket' }, value: 104 },
        { labels: { outcome: 'assign_failed' }, value: 105 },
      ],
    });
  });

  it('keeps the unattributed series without pods', () => {
    const [pods, unattributed] = sklookupMetricFamilies({ pods: [], unattributed: counters(0) });
    expect(pods!.values).toEqual([]);
    expect(unattributed!.values).toHaveLength(6);
  });
});
