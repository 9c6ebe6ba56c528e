import { describe, expect, it } from 'vitest';
import { effectiveSettings, interfaceFlags, interfaceOverrides } from '../src/interface-settings.js';
import { tproxyInterfaceConfigSchema } from '../src/tproxy-config.js';

const config = tproxyInterfaceConfigSchema.parse({ name: 'eth0' });

describe('interface settings', () => {
  it('override the config field by field and map to the tctp_ifaces flags', () => {
    expect(effectiveSettings(config)).toEqual({ ssh: true, echo: false, ipv6: true, events: { drops: true, diverts: false } });
    expect(interfaceFlags(effectiveSettings(config))).toBe(1 | 4 | 8);
    const s = effectiveSettings(config, { name: 'eth0', ssh: false, echo: true, events: { drops: false, diverts: true } });
    expect(s).toEqual({ ssh: false, echo: true, ipv6: true, events: { drops: false, diverts: true } });
    expect(interfaceFlags(s)).toBe(2 | 4 | 16);
  });

  it('come from tproxy.interface intents of attached interfaces only, once each', () => {
    const ok = interfaceOverrides([{ kind: 'tproxy.interface', name: 'eth0', ssh: false }], ['eth0', 'eth1']);
    expect([...ok.keys()]).toEqual(['eth0']);
    expect(() => interfaceOverrides([{ kind: 'tproxy.interface', name: 'eth9' }], ['eth0'])).toThrow(/interface eth9 is not attached \(attached: eth0\)/);
    expect(() => interfaceOverrides([{ kind: 'tproxy.interface', name: 'eth0' }, { kind: 'tproxy.interface', name: 'eth0' }], ['eth0'])).toThrow(/twice/);
    expect(() => interfaceOverrides([{ kind: 'tproxy.interface', name: 'eth0', ssh: 1 }], ['eth0'])).toThrow(/tproxy.interface #0: ssh/);
  });
});
