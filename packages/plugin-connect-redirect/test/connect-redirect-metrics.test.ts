import { describe, expect, it } from 'vitest';
import { connectRedirectMetricFamilies } from '../src/connect-redirect-metrics.js';

const stats = { connects: 10, redirected: 4, direct: 3, bypassed: 2, noStorage: 1, recorded: 4, recordFailed: 0, origdstAnswered: 3, origdstUnknown: 1 };

describe('connectRedirectMetricFamilies', () => {
  it('gives the connects by outcome (summing to every connect), the records and the SO_ORIGINAL_DST answers', () => {
    const families = connectRedirectMetricFamilies(stats, [], []);
    const byName = Object.fromEntries(families.map((f) => [f.name, f]));
    expect(families.every((f) => f.type === 'counter')).toBe(true);
    expect(byName.bpfsteer_connect_redirect_connects_total!.values).toEqual([
      { labels: { outcome: 'redirected' }, value: 4 },
      { labels: { outcome: 'direct' }, value: 3 },
      { labels: { outcome: 'bypassed' }, value: 2 },
      { labels: { outcome: 'no_storage' }, value: 1 },
    ]);
    expect(byName.bpfsteer_connect_redirect_connects_total!.values.reduce((n, v) => n + v.value, 0)).toBe(stats.connects);
    expect(byName.bpfsteer_connect_redirect_origdst_records_total!.values).toEqual([
      { labels: { outcome: 'recorded' }, value: 4 },
      { labels: { outcome: 'record_failed' }, value: 0 },
    ]);
    expect(byName.bpfsteer_connect_redirect_origdst_queries_total!.values).toEqual([
      { labels: { outcome: 'answered' }, value: 3 },
      { labels: { outcome: 'unknown' }, value: 1 },
    ]);
    expect(byName.bpfsteer_connect_redirect_rule_connects_total!.values).toEqual([]);
  });

  it('gives each rule its connects by outcome, labelled by position, destination and ports', () => {
    const families = connectRedirectMetricFamilies(
      stats,
      [{ destination: '10.78.0.0/24', ports: ['80', ' 8000-8100', 443] }, { destination: ' 10.78.0.9', direct: true }],
      [{ redirected: 5, direct: 0 }],
    );
    expect(families.find((f) => f.name === 'bpfsteer_connect_redirect_rule_connects_total')!.values).toEqual([
      { labels: { rule: '0', destination: '10.78.0.0/24', ports: '80,8000-8100,443', outcome: 'redirected' }, value: 5 },
      { labels: { rule: '0', destination: '10.78.0.0/24', ports: '80,8000-8100,443', outcome: 'direct' }, value: 0 },
      { labels: { rule: '1', destination: '10.78.0.9', ports: 'all', outcome: 'redirected' }, value: 0 },
      { labels: { rule: '1', destination: '10.78.0.9', ports: 'all', outcome: 'direct' }, value: 0 },
    ]);
  });
});
