import { encodeValue } from '@bpfsteer/core-bpf';
import { describe, expect, it } from 'vitest';
import { eventCodec } from '../src/map-codecs.js';
import { decodeEvent, monotonicToWallOffsetNs } from '../src/tproxy-event.js';
import { TPROXY_EVENT_REASONS, tproxyEventSchema } from '@bpfsteer/contract-tproxy';

const addr = (...bytes: number[]) => {
  const out = new Uint8Array(16);
  out.set(bytes);
  return out;
};
const record = (fields: Partial<Parameters<typeof eventCodec.encode>[0]>) =>
  encodeValue(eventCodec, {
    ts_ns: 5_000_000_000n,
    ifindex: 3,
    rule_id: 0,
    kind: 1,
    reason: 1,
    family: 2,
    proto: 6,
    sport_be: 40000,
    dport_be: 80,
    tproxy_port_be: 0,
    saddr: addr(10, 0, 0, 2),
    daddr: addr(10, 99, 0, 7),
    ...fields,
  });
const ctx = { interfaceName: (i: number) => (i === 3 ? 'eth-c' : String(i)), clockOffsetNs: 1_700_000_000_000_000_000n };

describe('decodeEvent', () => {
  it('decodes drops and diverts in the shape watchers get', () => {
    expect(decodeEvent(record({}), ctx)).toEqual({
      time: new Date(1_700_000_005_000).toISOString(),
      interface: 'eth-c',
      kind: 'drop',
      reason: 'no-rule',
      family: 4,
      protocol: 'tcp',
      source: '10.0.0.2:40000',
      destination: '10.99.0.7:80',
    });
    const v6 = addr(0xfd, 0, 0, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7);
    expect(
      decodeEvent(record({ kind: 2, reason: 0, family: 10, proto: 17, rule_id: 12, tproxy_port_be: 33381, daddr: v6, ifindex: 9 }), ctx),
    ).toMatchObject({ interface: '9', kind: 'divert', reason: 'rule', family: 6, protocol: 'udp', destination: '[fd00:99::7]:80', ruleId: 12, tproxyPort: 33381 });
    expect(decodeEvent(record({ family: 0, proto: 0, reason: 6 }), ctx)).toMatchObject({ reason: 'not-ip', source: '', destination: '', protocol: 0 });
    expect(decodeEvent(record({ proto: 58, family: 10, reason: 7 }), ctx)).toMatchObject({ protocol: 'icmp', reason: 'icmp' });
  });

  it('decodes every reason and protocol into the contract\'s event shape', () => {
    for (let reason = 0; reason < TPROXY_EVENT_REASONS.length; reason++) {
      for (const [family, proto] of [[2, 6], [10, 17], [2, 1], [0, 0], [10, 132]]) {
        const e = decodeEvent(record({ kind: 1 + (reason % 2), reason, family, proto, rule_id: reason, tproxy_port_be: reason * 1000 }), ctx);
        expect(tproxyEventSchema.safeParse(e).error).toBeUndefined();
      }
    }
  });

  it('ignores records that are not events', () => {
    expect(decodeEvent(new Uint8Array(10), ctx)).toBeUndefined();
    expect(decodeEvent(record({ kind: 9 }), ctx)).toBeUndefined();
  });

  it('maps the monotonic clock to wall-clock time', () => {
    const offset = monotonicToWallOffsetNs();
    const nowMono = process.hrtime.bigint();
    expect(Math.abs(Number((nowMono + offset) / 1_000_000n) - Date.now())).toBeLessThan(50);
  });
});
