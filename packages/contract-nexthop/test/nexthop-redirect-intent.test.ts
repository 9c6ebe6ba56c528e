/** The nexthop contract's intent schema: what it accepts, and what it says about the rest. */
import { describe, expect, it } from 'vitest';
import { nexthopRedirectIntentSchema } from '../src/index.js';

const messages = (r: { success: boolean; error?: { issues: { message: string; path: PropertyKey[] }[] } }) =>
  r.success ? [] : r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);

describe('nexthop.redirect intent schema', () => {
  const ok = { source: '192.168.1.5/32', nexthop: '10.111.221.21', interface: 'eth1' };
  it('accepts a rule', () => {
    expect(nexthopRedirectIntentSchema.parse(ok)).toEqual(ok);
    expect(nexthopRedirectIntentSchema.safeParse({ source: 'fd00::/64', nexthop: 'fe80::1', interface: 'eth1' }).success).toBe(true);
    expect(nexthopRedirectIntentSchema.safeParse({ ...ok, source: ' 192.168.1.5 ' }).success).toBe(true);
  });
  it.each([
    [{ ...ok, source: '192.168.1.300/32' }, /source: source "192.168.1.300\/32" is not a CIDR: .*300 is larger than 255/],
    [{ ...ok, source: '192.168.1.5/24' }, /source: source "192.168.1.5\/24" has host bits set; did you mean 192.168.1.0\/24\?/],
    [{ ...ok, nexthop: 'router' }, /nexthop: nexthop "router" is not an IP address/],
    [{ ...ok, nexthop: 'fd00::1' }, /nexthop: nexthop fd00::1 is IPv6 but source 192.168.1.5\/32 is IPv4/],
    [{ ...ok, interface: '' }, /interface: invalid interface name/],
    [{ ...ok, interface: 'eth0:1' }, /interface: invalid interface name "eth0:1": expected a Linux interface name of 1-15 characters without whitespace, '\/' or ':'/],
    [{ ...ok, via: 'x' }, /via/],
    [{ source: ok.source }, /nexthop/],
  ])('rejects %j', (intent, why) => {
    const r = nexthopRedirectIntentSchema.safeParse(intent);
    expect(r.success).toBe(false);
    expect(messages(r).join('\n')).toMatch(why);
  });
});
