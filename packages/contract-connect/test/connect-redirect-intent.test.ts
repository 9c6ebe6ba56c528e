import { describe, expect, it } from 'vitest';
import { connectRedirectIntentSchema, readPortRange } from '../src/index.js';

describe('connect.redirect intent', () => {
  it('accepts a prefix or an address, ports and ranges, and exclusions', () => {
    expect(connectRedirectIntentSchema.parse({ destination: '10.0.2.0/24', ports: ['80', 443, '8000-8100'] })).toEqual({
      destination: '10.0.2.0/24',
      ports: ['80', 443, '8000-8100'],
    });
    expect(connectRedirectIntentSchema.parse({ destination: 'fd00::9', direct: true })).toEqual({ destination: 'fd00::9', direct: true });
  });

  it.each([
    [{ destination: '10.0.2.1/24' }, /host bits/],
    [{ destination: 'nowhere' }, /destination "nowhere"/],
    [{ destination: '10.0.0.0/8', ports: [] }, /at least one/],
    [{ destination: '10.0.0.0/8', ports: ['0'] }, /port "0"/],
    [{ destination: '10.0.0.0/8', ports: ['90-80'] }, /first port is above the last/],
    [{ destination: '10.0.0.0/8', ports: ['1-2-3'] }, /1-2-3/],
    [{ destination: '10.0.0.0/8', ports: [65536] }, /65536/],
    [{ destination: '10.0.0.0/8', via: 'x' }, /via/],
  ])('refuses %j', (intent, message) => {
    const r = connectRedirectIntentSchema.safeParse(intent);
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")).toMatch(message);
  });

  it('reads ranges', () => {
    expect(readPortRange(' 80 ')).toEqual({ ok: true, value: { from: 80, to: 80 } });
    expect(readPortRange('1-65535')).toEqual({ ok: true, value: { from: 1, to: 65535 } });
    expect(readPortRange('080').ok).toBe(false);
  });
});
