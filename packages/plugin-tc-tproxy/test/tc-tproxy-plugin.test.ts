import { describe, expect, it } from 'vitest';
import { tcTproxyPlugin } from '../src/tc-tproxy-plugin.js';
import { tcTproxyConfigSchema } from '../src/tproxy-config.js';
import { TPROXY_INTERFACE_KIND, TPROXY_RULE_KIND, tproxyInterfaceIntentSchema } from '@bpfsteer/contract-tproxy';

const messages = (r: { success: boolean; error?: { issues: { message: string; path: PropertyKey[] }[] } }) =>
  r.success ? [] : r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);

describe('tcTproxyPlugin factory', () => {
  it('declares its id, intent kinds and kernel needs', () => {
    expect(tcTproxyPlugin.id).toBe('tc-tproxy');
    expect(Object.keys(tcTproxyPlugin.intents)).toEqual([TPROXY_RULE_KIND, TPROXY_INTERFACE_KIND]);
    expect(tcTproxyPlugin.requires).toEqual(['bpffs', 'tc', 'lpm_trie', 'ringbuf']);
  });
});

describe('config schema', () => {
  it('fills the defaults of the spec', () => {
    expect(tcTproxyConfigSchema.parse({ interfaces: [{ name: 'eth0' }] })).toEqual({
      interfaces: [{ name: 'eth0', optional: false, ssh: true, echo: false, ipv6: true, events: { drops: true, diverts: false } }],
      maxRules: 131072,
      conntrack: { tcpIdleSeconds: 3600, udpIdleSeconds: 30, tcpClosingSeconds: 10, maxEntries: 32768 },
      metrics: { perService: false },
    });
    expect(tcTproxyConfigSchema.parse({ interfaces: [{ name: 'eth0' }], metrics: { perService: true } }).metrics).toEqual({ perService: true });
    expect(
      tcTproxyConfigSchema.parse({ interfaces: [{ name: 'eth0', ssh: false, events: { drops: false } }], netns: 'r', maxRules: 100000, conntrack: { udpIdleSeconds: 60 } }),
    ).toMatchObject({ interfaces: [{ ssh: false, events: { drops: false, diverts: false } }], netns: 'r', maxRules: 100000, conntrack: { udpIdleSeconds: 60, tcpIdleSeconds: 3600 } });
  });

  it.each([
    [{}, /interfaces/],
    [{ interfaces: [] }, /at least one interface/],
    [{ interfaces: [{ name: 'eth0' }, { name: 'eth0' }] }, /listed once/],
    [{ interfaces: [{ name: 'eth 0' }] }, /invalid interface name/],
    [{ interfaces: ['eth0'] }, /interfaces.0/],
    [{ interfaces: [{ name: 'eth0', sssh: true }] }, /sssh/],
    [{ interfaces: [{ name: 'eth0' }], maxRules: 0 }, /maxRules/],
    [{ interfaces: [{ name: 'eth0' }], conntrack: { maxEntries: 1 } }, /conntrack.maxEntries/],
    [{ interfaces: [{ name: 'eth0' }], other: 1 }, /other/],
    [{ interfaces: [{ name: 'eth0' }], metrics: { perRule: true } }, /perRule/],
    [{ interfaces: [{ name: 'eth0' }], metrics: { perService: 'yes' } }, /metrics.perService/],
  ])('refuses %j', (config, message) => {
    expect(messages(tcTproxyConfigSchema.safeParse(config)).join('; ')).toMatch(message);
  });
});

describe('tproxy.interface schema', () => {
  it('takes partial settings of one interface', () => {
    expect(messages(tproxyInterfaceIntentSchema.safeParse({ name: 'eth0', ssh: false }))).toEqual([]);
    expect(messages(tproxyInterfaceIntentSchema.safeParse({ name: 'eth0', events: { diverts: false } }))).toEqual([]);
    expect(messages(tproxyInterfaceIntentSchema.safeParse({ name: 'eth0', ssh: 'no' })).join()).toMatch(/ssh/);
    expect(messages(tproxyInterfaceIntentSchema.safeParse({ ssh: true })).join()).toMatch(/name/);
    expect(messages(tproxyInterfaceIntentSchema.safeParse({ name: 'eth0', verbose: true })).join()).toMatch(/verbose/);
  });
});
