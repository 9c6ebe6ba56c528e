/**
 * The maps' max_entries follow the config: tctp_dst_host is a hash whose buckets are allocated up
 * front (16 bytes per max entry), so it is sized per rule, not generously; tctp_dst has the same
 * limit, since the planner counts trie and host entries together against it.
 */
import { describe, expect, it } from 'vitest';
import { MAP } from '../src/map-codecs.js';
import { DEFAULT_CT_ENTRIES, DEFAULT_MAX_RULES, MIN_HOST_ENTRIES } from '../src/tproxy-constants.js';
import { mapSizes } from '../src/tproxy-maps.js';

describe('mapSizes', () => {
  it('gives the host hash 2 entries per rule (not 4: its buckets cost 16 bytes per max entry up front) and the dst trie the same limit', () => {
    const s = mapSizes(DEFAULT_MAX_RULES, DEFAULT_CT_ENTRIES);
    expect(s[MAP.dstHost]).toBe(2 * DEFAULT_MAX_RULES);
    expect(s[MAP.dst]).toBe(s[MAP.dstHost]);
    expect(s[MAP.rules]).toBe(DEFAULT_MAX_RULES + 1);
    expect(s[MAP.ruleHits]).toBe(DEFAULT_MAX_RULES + 1);
  });

  it('keeps a floor for small rule sets', () => {
    expect(mapSizes(10, 16)[MAP.dstHost]).toBe(MIN_HOST_ENTRIES);
    expect(mapSizes(10, 16)[MAP.dst]).toBe(MIN_HOST_ENTRIES);
  });

  it('sizes connection tracking from the config, per protocol', () => {
    expect(mapSizes(DEFAULT_MAX_RULES, 4096)).toMatchObject({ [MAP.ctTcp]: 4096, [MAP.ctUdp]: 4096 });
    expect(DEFAULT_CT_ENTRIES).toBe(32768);
  });
});
