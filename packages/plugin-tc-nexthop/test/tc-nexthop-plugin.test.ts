import { describe, expect, it } from 'vitest';
import { NEXTHOP_REDIRECT_KIND } from '@bpfsteer/contract-nexthop';
import { tcNexthopConfigSchema, tcNexthopPlugin } from '../src/tc-nexthop-plugin.js';

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
