/** fast-check generators of API request bodies: valid ones, near misses and junk (shared by the fuzz tests). */
import { networkOf, parseIp } from '@bpfsteer/ip';
import fc from 'fast-check';


const octet = fc.integer({ min: 0, max: 300 });
const ipv4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
const ipv6 = fc.ipV6();
const prefix = fc.oneof(fc.integer({ min: -2, max: 140 }).map(String), fc.constantFrom('', 'x', '08', '1e1', '32 '));
const cidrish = fc.oneof(
  fc.tuple(ipv4, prefix).map(([a, p]) => `${a}/${p}`),
  fc.tuple(ipv6, prefix).map(([a, p]) => `${a}/${p}`),
  ipv4,
  ipv6,
  fc.ipV4(),
  fc.string({ maxLength: 70 }),
);
const portish = fc.oneof(
  fc.integer({ min: -5, max: 70000 }),
  fc.integer({ min: 0, max: 65535 }),
  fc.double(),
  fc.constantFrom('80', null, true, 1e309, -0),
);
export const weird = fc.oneof(fc.jsonValue(), fc.string(), fc.constant(undefined));

/** Well-formed rules from a small space (so inserts and deletes meet). */
const smallPort = fc.integer({ min: 0, max: 4 });
export const validRule = fc
  .record({
    v6: fc.boolean(),
    host: fc.integer({ min: 0, max: 3 }),
    prefix: fc.constantFrom(8, 24, 32),
    src: fc.option(fc.constantFrom(0, 16), { nil: undefined }),
    protocol: fc.constantFrom('tcp', 'udp'),
    low: smallPort,
    span: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
    tproxyPort: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: undefined }),
    deny: fc.boolean(),
    interfaces: fc.option(fc.subarray(['eth0', 'lo', 'ens33']), { nil: undefined }),
    service: fc.option(fc.constantFrom('svc-a', 'svc-b'), { nil: undefined }),
  })
  .map((r) => ({
    // a network (host bits clear), as the API requires
    destination: networkOf(parseIp(r.v6 ? `fd00::${r.host}` : `10.0.0.${r.host}`), r.v6 ? r.prefix + 96 : r.prefix).text,
    ...(r.src !== undefined && { source: networkOf(parseIp(r.v6 ? 'fd01::' : '192.168.0.0'), r.src).text }),
    protocol: r.protocol,
    ports: r.span === undefined ? { low: r.low } : { low: r.low, high: r.low + r.span },
    ...(r.deny ? { action: 'deny' } : r.tproxyPort !== undefined && { tproxyPort: r.tproxyPort }),
    ...(r.interfaces !== undefined && { interfaces: r.interfaces }),
    ...(r.service !== undefined && { service: r.service }),
  }));

/** What a delete names: a valid rule without its value fields. */
export const validSelector = validRule.map(({ destination, source, protocol, ports, interfaces }: Record<string, unknown>) =>
  Object.fromEntries(Object.entries({ destination, source, protocol, ports, interfaces }).filter(([, v]) => v !== undefined)),
);

const junkField = fc.oneof(cidrish, portish, weird, fc.constantFrom('tcp', 'eth0', 'deny'));
const fields = ['destination', 'source', 'protocol', 'ports', 'action', 'tproxyPort', 'interfaces', 'service', 'extra'] as const;

/** Valid bodies, valid bodies with one field replaced or removed, and random records. */
const bodyish = (valid: fc.Arbitrary<Record<string, unknown>>) => fc.oneof(
  valid,
  fc.tuple(valid, fc.constantFrom(...fields), junkField).map(([r, k, v]) => ({ ...r, [k]: v })),
  fc.tuple(valid, fc.constantFrom(...fields)).map(([r, k]) => Object.fromEntries(Object.entries(r).filter(([key]) => key !== k))),
  fc.tuple(valid, portish, portish).map(([r, low, high]) => ({ ...r, ports: { low, high } })),
  fc.record(
    {
      destination: fc.oneof(cidrish, weird),
      source: fc.oneof(cidrish, weird),
      protocol: fc.oneof(fc.constantFrom('tcp', 'udp', 'TCP', 'icmp', ''), weird),
      ports: fc.oneof(fc.record({ low: portish, high: portish }, { requiredKeys: ['low'] }), weird),
      action: fc.oneof(fc.constantFrom('divert', 'pass', 'deny', 'drop'), weird),
      tproxyPort: portish,
      interfaces: fc.oneof(fc.array(fc.oneof(fc.constantFrom('eth0', 'lo', 'ens33', 'a/b', '', 'x'.repeat(16)), fc.string())), weird),
      service: fc.oneof(fc.string({ maxLength: 300 }), weird),
      extra: weird,
    },
    { requiredKeys: [] },
  ),
);
export const ruleish = bodyish(validRule);
export const selectorish = bodyish(validSelector);

export const batchish = fc.oneof(
  fc.record({
    operations: fc.array(
      fc.oneof(
        fc.record({ op: fc.constant('insert'), rule: validRule }),
        fc.record({ op: fc.constant('delete'), rule: validSelector }),
        fc.record({ op: fc.constantFrom('insert', 'delete', 'upsert'), rule: fc.oneof(ruleish, selectorish) }),
        weird,
      ),
      { maxLength: 8 },
    ),
  }),
  weird,
);

