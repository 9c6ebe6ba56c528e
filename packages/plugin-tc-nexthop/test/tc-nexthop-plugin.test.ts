import { describe, expect, it } from 'vitest';
import {
  NEXTHOP_REDIRECT_KIND,
  nexthopRedirectIntentSchema,
  tcNexthopConfigSchema,
  tcNexthopPlugin,
} from '../src/tc-nexthop-plugin.js';

const messages = (r: { success: boolean; error?: { issues: { message: string; path: PropertyKey[] }[] } }) =>
  r.success ? [] : r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);

describe('tcNexthopPlugin factory', () => {
  it('declares its id, intent kind and kernel needs', () => {
    expect(tcNexthopPlugin.id).toBe('tc-nexthop');
    expect(Object.keys(tcNexthopPlugin.intents)).toEqual([NEXTHOP_REDIRECT_KIND]);
    expect(tcNexthopPlugin.requires).toEqual(['bpffs', 'tc', 'redirect_neigh']);
  });
});

describe('config schema', () => {
  it('fills the default capacity', () => {
    expect(tcNexthopConfigSchema.parse({ interfaces: ['eth0'] })).toEqual({ interfaces: ['eth0'], maxRules: 16384 });
    expect(tcNexthopConfigSchema.parse({ interfaces: ['eth0', 'eth1'], netns: 'srv', maxRules: 64 })).toMatchObject({ netns: 'srv' });
  });
  it.each([
    [{}, /interfaces/],
    [{ interfaces: [] }, /at least one interface/],
    [{ interfaces: ['eth0', 'eth0'] }, /listed once/],
    [{ interfaces: ['eth 0'] }, /invalid interface name/],
    [{ interfaces: ['eth0'], maxRules: 0 }, /maxRules/],
    [{ interfaces: ['eth0'], maxRules: 1.5 }, /maxRules/],
    [{ interfaces: ['eth0'], netns: '' }, /netns/],
    [{ interfaces: ['eth0'], interface: 'eth1' }, /interface/],
  ])('rejects %j', (config, why) => {
    const r = tcNexthopConfigSchema.safeParse(config);
    expect(r.success).toBe(false);
    expect(messages(r).join('\n')).toMatch(why);
  });
});

describe('nexthop.redirect intent schema', () => {
  const ok = { source: '192.168.1.5/32', nexthop: '10.111.221.21', interface: 'eth1' };
  it('accepts a rule', () => {
    expect(nexthopRedirectIntentSchema.parse(ok)).toEqual(ok);
    expect(nexthopRedirectIntentSchema.safeParse({ source: 'fd00::/64', nexthop: 'fe80::1', interface: 'eth1' }).success).toBe(true);
  });
  it.each([
    [{ ...ok, source: '192.168.1.300/32' }, /source: source "192.168.1.300\/32" is not a CIDR: .*300 is larger than 255/],
    [{ ...ok, source: '192.168.1.5/24' }, /source: source "192.168.1.5\/24" has host bits set; did you mean 192.168.1.0\/24\?/],
    [{ ...ok, nexthop: 'router' }, /nexthop: nexthop "router" is not an IP address/],
    [{ ...ok, nexthop: 'fd00::1' }, /nexthop: nexthop fd00::1 is IPv6 but source 192.168.1.5\/32 is IPv4/],
    [{ ...ok, interface: '' }, /interface: invalid interface name/],
    [{ ...ok, via: 'x' }, /via/],
    [{ source: ok.source }, /nexthop/],
  ])('rejects %j', (intent, why) => {
    const r = nexthopRedirectIntentSchema.safeParse(intent);
    expect(r.success).toBe(false);
    expect(messages(r).join('\n')).toMatch(why);
  });
});
